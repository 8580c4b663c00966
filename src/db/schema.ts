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
  member_id: string | null;
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
  member_id: string | null;
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
}
