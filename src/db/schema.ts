import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string | undefined, string>;

export interface ProgramsTable {
  id: Generated<string>;
  name: string;
  currency: string;
  currency_exponent: number;
  time_zone: string;
  reversal_policy: Generated<'allow_negative' | 'take_remaining'>;
  settings: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface StoresTable {
  id: Generated<string>;
  program_id: string;
  code: string;
  name: string;
  kind: 'online' | 'pos' | 'marketplace' | 'app';
  currency: string | null;
  created_at: Timestamp;
}

export interface ApiKeysTable {
  id: Generated<string>;
  program_id: string;
  name: string;
  prefix: string;
  key_hash: Buffer;
  created_at: Timestamp;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface MembersTable {
  id: Generated<string>;
  program_id: string;
  customer_id: string | null;
  email: string | null;
  email_normalized: ColumnType<string | null, never, never>;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  birthday: string | null;
  locale: string | null;
  marketing_consent: Generated<boolean>;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  attributes: Json;
  status: Generated<'active' | 'blocked'>;
  enrollment_source: Generated<string>;
  enrolled_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type ExpiryKind = 'never' | 'days_after_earn' | 'end_of_month' | 'end_of_year' | 'inactivity';

export interface WalletsTable {
  id: Generated<string>;
  program_id: string;
  code: string;
  name: string;
  unit: 'points' | 'currency';
  expiry_kind: Generated<ExpiryKind>;
  expiry_count: Generated<number>;
  pending_days: Generated<number>;
  created_at: Timestamp;
}

export type AccountKind =
  | 'available' | 'pending' | 'reserved'
  | 'issued' | 'redeemed' | 'expired' | 'reversed' | 'adjusted' | 'transfers';

export interface AccountsTable {
  id: Generated<number>;
  program_id: string;
  wallet_id: string;
  member_id: string | null;
  kind: AccountKind;
  balance: number | null;
}

export interface MemberWalletsTable {
  id: Generated<number>;
  program_id: string;
  member_id: string;
  wallet_id: string;
  available_account_id: number;
  pending_account_id: number;
  reserved_account_id: number;
  earned: Generated<number>;
  spent: Generated<number>;
  expired: Generated<number>;
  reversed: Generated<number>;
  restored: Generated<number>;
  adjusted_in: Generated<number>;
  adjusted_out: Generated<number>;
  transferred_in: Generated<number>;
  transferred_out: Generated<number>;
  last_activity_at: Date | null;
  created_at: Timestamp;
}

export type OperationKind =
  | 'earn' | 'spend' | 'reserve' | 'post' | 'void' | 'expire_reservation'
  | 'reverse' | 'restore' | 'adjust' | 'transfer';

export interface OperationsTable {
  id: Generated<string>;
  program_id: string;
  wallet_id: string;
  member_id: string;
  kind: OperationKind;
  amount: number;
  reversed: Generated<number>;
  restored: Generated<number>;
  target_operation_id: string | null;
  reservation_id: string | null;
  counterpart_member_id: string | null;
  reference_type: string | null;
  reference_id: string | null;
  description: string | null;
  reason: string | null;
  actor: string;
  metadata: Json;
  created_at: Timestamp;
}

export interface LotsTable {
  id: Generated<number>;
  program_id: string;
  wallet_id: string;
  member_id: string;
  operation_id: string;
  amount: number;
  remaining: number;
  vested: boolean;
  vests_at: Date | null;
  expires_at: Date | null;
  created_at: Timestamp;
}

export type EntryKind =
  | 'earn' | 'spend' | 'reserve' | 'post' | 'release' | 'reverse' | 'restore'
  | 'expire' | 'vest' | 'adjust' | 'transfer';

export interface EntriesTable {
  id: Generated<number>;
  program_id: string;
  wallet_id: string;
  member_id: string;
  operation_id: string | null;
  kind: EntryKind;
  amount: number;
  debit_account_id: number;
  credit_account_id: number;
  lot_id: number | null;
  lot_delta: Generated<number>;
  created_at: Timestamp;
}

export interface LotAllocationsTable {
  operation_id: string;
  lot_id: number;
  amount: number;
  released: Generated<number>;
  seq: number;
}

export type ReservationStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface ReservationsTable {
  id: Generated<string>;
  program_id: string;
  wallet_id: string;
  member_id: string;
  operation_id: string;
  amount: number;
  posted_amount: Generated<number>;
  status: ReservationStatus;
  expires_at: Date;
  resolved_at: Date | null;
  post_operation_id: string | null;
  reference_type: string | null;
  reference_id: string | null;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  program_id: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: ColumnType<unknown, string, string>;
  created_at: Timestamp;
}

export interface AuditEventsTable {
  id: Generated<number>;
  program_id: string;
  actor: string;
  action: string;
  subject_type: string;
  subject_id: string;
  details: Json;
  created_at: Timestamp;
}

export interface EventsTable {
  id: Generated<number>;
  program_id: string;
  type: string;
  member_id: string | null;
  payload: Json;
  created_at: Timestamp;
  dispatched_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

// ---------------------------------------------------------------- webhooks, messages, lifecycle jobs (0003)

export interface WebhookEndpointsTable {
  id: Generated<string>;
  program_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  status: Generated<'enabled' | 'disabled'>;
  disabled_reason: string | null;
  disabled_at: Date | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  consecutive_failures: Generated<number>;
  failing_since: Date | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Date | null;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'cancelled';

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  program_id: string;
  endpoint_id: string;
  event_id: number;
  event_type: string;
  member_id: string | null;
  status: Generated<WebhookDeliveryStatus>;
  attempts: Generated<number>;
  run_attempts: Generated<number>;
  run_started_at: Date | null;
  next_attempt_at: Timestamp;
  locked_until: Date | null;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  completed_at: Date | null;
  created_at: Timestamp;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  program_id: string;
  delivery_id: number;
  attempt: number;
  trigger: 'scheduled' | 'manual';
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  outcome: 'succeeded' | 'failed';
  error: string | null;
  response_body: string | null;
}

export interface LifecycleSettingsTable {
  program_id: string;
  settings: Json;
  signing_key: Buffer;
  updated_at: Timestamp;
}

export interface MessageTemplatesTable {
  program_id: string;
  kind: string;
  locale: string;
  subject: string;
  body: string;
  updated_by: string;
  updated_at: Timestamp;
}

export type MessageStatus = 'pending' | 'sent' | 'skipped' | 'failed';

export interface MessagesTable {
  id: Generated<string>;
  program_id: string;
  member_id: string;
  kind: string;
  channel: 'email' | 'webhook';
  dedupe_key: string;
  event_id: number | null;
  context: Json;
  status: Generated<MessageStatus>;
  skip_reason: string | null;
  locale: string | null;
  recipient: string | null;
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  locked_until: Date | null;
  last_error: string | null;
  provider_response: string | null;
  sent_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MessageUnsubscribesTable {
  program_id: string;
  member_id: string;
  source: 'link' | 'api';
  created_at: Timestamp;
}

export interface ScheduledRunsTable {
  program_id: string;
  job: string;
  local_date: string;
  enqueued_at: Timestamp;
  heartbeat_at: Date | null;
  completed_at: Date | null;
  runs: Generated<number>;
  last_error: string | null;
}

export interface LifecycleMarksTable {
  program_id: string;
  key: string;
  member_id: string | null;
  created_at: Timestamp;
  expires_at: Date | null;
}

// ---------------------------------------------------------------- rewards (0005)

export type RewardKind =
  | 'fixed_amount' | 'percentage' | 'free_shipping' | 'free_product' | 'store_credit'
  | 'gift_note' | 'donation' | 'experience' | 'custom';
export type LimitPeriod = 'day' | 'week' | 'month' | 'year' | 'lifetime';
type JsonArray = ColumnType<unknown[], string | undefined, string>;

export interface RewardsTable {
  id: Generated<string>;
  program_id: string;
  code: string | null;
  kind: RewardKind;
  status: Generated<'active' | 'paused' | 'archived'>;
  visibility: Generated<'public' | 'hidden'>;
  name: string;
  description: string | null;
  texts: Json;
  images: JsonArray;
  wallet_id: string;
  cost_points: number;
  tier_costs: Json;
  allowed_tiers: string[] | null;
  benefit: Json;
  starts_at: Date | null;
  ends_at: Date | null;
  weekdays: number[] | null;
  stock_total: number | null;
  stock_remaining: number | null;
  limit_count: number | null;
  limit_period: LimitPeriod | null;
  voucher_validity_days: number | null;
  code_source: Generated<'generated' | 'pool'>;
  code_format: Json;
  refund_on_expiry: Generated<boolean>;
  refund_on_cancel: Generated<boolean>;
  usage: Generated<'any' | 'renewal'>;
  auto_issue: Generated<boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type RedemptionStatus = 'completed' | 'requested' | 'fulfilled' | 'cancelled';

export interface RewardRedemptionsTable {
  id: string;
  program_id: string;
  reward_id: string;
  member_id: string;
  wallet_id: string;
  kind: RewardKind;
  points: number;
  refunded_points: Generated<number>;
  spend_operation_id: string | null;
  credit_operation_id: string | null;
  status: RedemptionStatus;
  tier: string | null;
  details: Json;
  note: string | null;
  actor: string;
  created_at: Timestamp;
  resolved_at: Date | null;
}

export type VoucherStatus = 'issued' | 'consumed' | 'expired' | 'cancelled';

export interface RewardVouchersTable {
  id: Generated<string>;
  program_id: string;
  reward_id: string;
  redemption_id: string;
  member_id: string;
  code: string;
  code_normalized: ColumnType<string, never, never>;
  kind: RewardKind;
  benefit: Json;
  status: VoucherStatus;
  renewal_only: Generated<boolean>;
  subscription_id: string | null;
  refund_on_expiry: boolean;
  refund_on_cancel: boolean;
  valid_from: Date;
  expires_at: Date | null;
  order_id: string | null;
  discount_minor: number | null;
  consumed_at: Date | null;
  resolved_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RewardPoolCodesTable {
  id: Generated<number>;
  program_id: string;
  reward_id: string;
  code: string;
  code_normalized: ColumnType<string, never, never>;
  assigned_at: Date | null;
  created_at: Timestamp;
}

export interface DonationTotalsTable {
  program_id: string;
  cause: string;
  points: Generated<number>;
  donations: Generated<number>;
  updated_at: Timestamp;
}

export interface PointsPaymentSettingsTable {
  program_id: string;
  wallet_id: string;
  enabled: Generated<boolean>;
  rate_points: number;
  rate_amount_minor: number;
  minimum_points: Generated<number>;
  max_share_percent: Generated<number>;
  timeout_ms: Generated<number>;
  updated_at: Timestamp;
}

export type PointsPaymentStatus = 'reserved' | 'captured' | 'cancelled' | 'expired';

export interface PointsPaymentsTable {
  id: Generated<string>;
  program_id: string;
  member_id: string;
  wallet_id: string;
  order_id: string;
  reservation_id: string;
  points: number;
  amount_minor: number;
  order_total_minor: number;
  status: PointsPaymentStatus;
  captured_points: Generated<number>;
  captured_minor: Generated<number>;
  post_operation_id: string | null;
  refunded_minor: Generated<number>;
  restored_points: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

// ---------------------------------------------------------------- imports (0006)

export interface ImportBatchesTable {
  id: Generated<string>;
  program_id: string;
  kind: 'members' | 'adjustments';
  batch_key: string;
  content_hash: string;
  format: 'csv' | 'ndjson';
  status: 'completed' | 'rejected' | 'dry_run';
  on_invalid: 'reject' | 'skip';
  rows_total: number;
  rows_invalid: number;
  report: Json;
  actor: string;
  created_at: Timestamp;
  finished_at: Timestamp;
}

// ---------------------------------------------------------------- orders and earning rules (0002)

export type RuleKind = 'base_rate' | 'multiplier' | 'extra_points' | 'cashback' | 'threshold' | 'challenge' | 'action';
export type OrderStatus = 'pending' | 'paid' | 'fulfilled' | 'partially_refunded' | 'refunded' | 'cancelled';
export type OrderEventType = 'created' | 'paid' | 'fulfilled' | 'cancelled' | 'refunded';
type JsonValue = ColumnType<unknown, string | undefined, string>;
type NullableJson = ColumnType<unknown | null, string | null | undefined, string | null>;

export interface EarningSettingsTable {
  program_id: string;
  claim_window_days: Generated<number>;
  pending_from: Generated<'paid' | 'fulfilled'>;
  updated_at: Timestamp;
}

export interface EarningRulesTable {
  id: Generated<string>;
  program_id: string;
  kind: RuleKind;
  created_at: Timestamp;
}

export interface EarningRuleVersionsTable {
  id: Generated<number>;
  program_id: string;
  rule_id: string;
  version: number;
  effective_from: Date;
  enabled: boolean;
  name: string;
  priority: number;
  stop_further: Generated<boolean>;
  config: Json;
  created_by: string;
  created_at: Timestamp;
}

export interface OrdersTable {
  id: Generated<string>;
  program_id: string;
  store_id: string | null;
  external_id: string;
  member_id: string | null;
  customer_id: string | null;
  email_normalized: string | null;
  phone: string | null;
  status: OrderStatus;
  currency: string | null;
  channel: string | null;
  placed_at: Date | null;
  paid_at: Date | null;
  fulfilled_at: Date | null;
  cancelled_at: Date | null;
  claim_until: Date | null;
  merchandise_minor: Generated<number>;
  refunded_minor: Generated<number>;
  details: NullableJson;
  details_hash: string | null;
  context: NullableJson;
  evaluation: NullableJson;
  evaluated_hash: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OrderEventsTable {
  id: Generated<number>;
  program_id: string;
  order_id: string;
  event_id: string;
  type: OrderEventType;
  occurred_at: Date;
  payload: Json;
  payload_hash: string;
  received_at: Timestamp;
}

export interface MemberActionsTable {
  id: Generated<string>;
  program_id: string;
  member_id: string;
  type: string;
  quantity: number;
  occurred_at: Date;
  reference_type: string | null;
  reference_id: string | null;
  attributes: Json;
  points: Json;
  evaluation: JsonValue;
  created_at: Timestamp;
}

export interface AwardsTable {
  id: Generated<number>;
  program_id: string;
  member_id: string;
  operation_id: string;
  component: string;
  order_id: string | null;
  action_id: string | null;
  breakdown: JsonValue;
  created_at: Timestamp;
}

export interface RulePointsTable {
  program_id: string;
  member_id: string;
  rule_id: string;
  source_type: 'order' | 'action';
  source_id: string;
  occurred_at: Date;
  points: number;
}

export interface ProgressContributionsTable {
  program_id: string;
  member_id: string;
  rule_id: string;
  rule_version: number;
  period_key: string;
  source_type: 'order' | 'action';
  source_id: string;
  occurred_at: Date;
  amount: number;
}

// ---------------------------------------------------------------- tiers (0004-tiers)

export type TierWindowKind = 'calendar_year' | 'rolling_months' | 'lifetime' | 'anniversary';
export type TierKind = 'earned' | 'invitation' | 'paid';
export type TierMetric = 'net_spend' | 'points_earned' | 'orders';

export interface TierLaddersTable {
  program_id: string;
  window_kind: TierWindowKind;
  window_months: number | null;
  qualification: 'any' | 'all';
  grace_days: number;
  downgrade_one_level: boolean;
  refund_downgrade: 'at_review' | 'immediate';
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TiersTable {
  id: Generated<string>;
  program_id: string;
  code: string;
  name: string;
  description: string | null;
  rank: number;
  kind: TierKind;
  min_net_spend: number | null;
  min_points_earned: number | null;
  min_orders: number | null;
  price_minor: number | null;
  period_months: number | null;
  earn_multiplier_bp: number;
  free_shipping: boolean;
  early_access: boolean;
  discount_bp: number;
  perks: ColumnType<{ code: string; label: string }[], string | undefined, string>;
  entry_reward_points: number | null;
  entry_reward_wallet: string | null;
  birthday_points: number | null;
  birthday_wallet: string | null;
  birthday_reward_code: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TierMetricEventsTable {
  id: Generated<number>;
  program_id: string;
  member_id: string;
  metric: TierMetric;
  amount: number;
  occurred_at: Timestamp;
  source_type: string;
  source_id: string;
  recorded_at: Timestamp;
}

export interface MemberTiersTable {
  member_id: string;
  program_id: string;
  tier_id: string | null;
  earned_tier_id: string | null;
  qualified_at: Date | null;
  review_at: Date | null;
  last_review_at: Date | null;
  grace_until: Date | null;
  grace_tier_id: string | null;
  floor_tier_id: string | null;
  floor_until: Date | null;
  floor_reason: string | null;
  lock_tier_id: string | null;
  lock_until: Date | null;
  lock_reason: string | null;
  invited_tier_id: string | null;
  invited_until: Date | null;
  paid_check_at: Date | null;
  due_at: ColumnType<Date | null, never, never>;
  changed_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TierMembershipsTable {
  id: Generated<string>;
  program_id: string;
  member_id: string;
  tier_id: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  status: Generated<'active' | 'cancelled'>;
  auto_renew: Generated<boolean>;
  periods: Generated<number>;
  price_minor: number;
  reference_type: string | null;
  reference_id: string | null;
  cancelled_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MemberTierHistoryTable {
  id: Generated<number>;
  program_id: string;
  member_id: string;
  from_tier: string | null;
  to_tier: string | null;
  direction: 'up' | 'down';
  reason: string;
  details: Json;
  actor: string;
  created_at: Timestamp;
}

export interface TierFirstReachedTable {
  member_id: string;
  tier_code: string;
  program_id: string;
  reached_at: Timestamp;
  entry_operation_id: string | null;
}

export interface TierBirthdayGiftsTable {
  member_id: string;
  year: number;
  program_id: string;
  tier_code: string;
  operation_id: string | null;
  reward_code: string | null;
  created_at: Timestamp;
}

export interface DB {
  programs: ProgramsTable;
  stores: StoresTable;
  api_keys: ApiKeysTable;
  members: MembersTable;
  wallets: WalletsTable;
  accounts: AccountsTable;
  member_wallets: MemberWalletsTable;
  operations: OperationsTable;
  lots: LotsTable;
  entries: EntriesTable;
  lot_allocations: LotAllocationsTable;
  reservations: ReservationsTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_events: AuditEventsTable;
  events: EventsTable;
  tier_ladders: TierLaddersTable;
  tiers: TiersTable;
  tier_metric_events: TierMetricEventsTable;
  member_tiers: MemberTiersTable;
  tier_memberships: TierMembershipsTable;
  member_tier_history: MemberTierHistoryTable;
  tier_first_reached: TierFirstReachedTable;
  tier_birthday_gifts: TierBirthdayGiftsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  lifecycle_settings: LifecycleSettingsTable;
  message_templates: MessageTemplatesTable;
  messages: MessagesTable;
  message_unsubscribes: MessageUnsubscribesTable;
  scheduled_runs: ScheduledRunsTable;
  lifecycle_marks: LifecycleMarksTable;
  earning_settings: EarningSettingsTable;
  earning_rules: EarningRulesTable;
  earning_rule_versions: EarningRuleVersionsTable;
  orders: OrdersTable;
  order_events: OrderEventsTable;
  member_actions: MemberActionsTable;
  awards: AwardsTable;
  rule_points: RulePointsTable;
  progress_contributions: ProgressContributionsTable;
  rewards: RewardsTable;
  reward_redemptions: RewardRedemptionsTable;
  reward_vouchers: RewardVouchersTable;
  reward_pool_codes: RewardPoolCodesTable;
  donation_totals: DonationTotalsTable;
  points_payment_settings: PointsPaymentSettingsTable;
  points_payments: PointsPaymentsTable;
  import_batches: ImportBatchesTable;
}
