/**
 * The registry of every problem `code` Laurel returns. Codes are stable API: clients switch on
 * them. docs/errors.md documents each one; a test keeps the two in agreement.
 */
export const errorCodes = {
  validation_failed: { status: 400, title: 'The request does not match the schema' },
  invalid_json: { status: 400, title: 'The request body is not valid JSON' },
  idempotency_key_required: { status: 400, title: 'This operation needs an Idempotency-Key header' },
  unauthorized: { status: 401, title: 'Missing, unknown or revoked API key' },
  not_found: { status: 404, title: 'No such route' },
  program_not_found: { status: 404, title: 'Program not found' },
  member_not_found: { status: 404, title: 'Member not found' },
  wallet_not_found: { status: 404, title: 'Wallet not found' },
  store_not_found: { status: 404, title: 'Store not found' },
  api_key_not_found: { status: 404, title: 'API key not found' },
  operation_not_found: { status: 404, title: 'Ledger operation not found' },
  reservation_not_found: { status: 404, title: 'Reservation not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  idempotency_key_reused: { status: 409, title: 'Idempotency-Key already used for a different request' },
  idempotency_key_in_use: { status: 409, title: 'A request with this Idempotency-Key is still running; retry later' },
  member_conflict: { status: 409, title: 'Another member already has this customer id, email or phone' },
  member_blocked: { status: 409, title: 'The member is blocked and can neither earn nor spend' },
  wallet_conflict: { status: 409, title: 'A wallet with this code already exists' },
  store_conflict: { status: 409, title: 'A store with this code already exists' },
  reservation_not_pending: { status: 409, title: 'The reservation is already posted, voided or expired' },
  body_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Send the body as application/json' },
  unknown_wallet: { status: 422, title: 'The wallet named in the request does not exist in this program' },
  invalid_phone: { status: 422, title: 'The phone number is not a valid number' },
  invalid_email: { status: 422, title: 'The email address is not valid' },
  invalid_time_zone: { status: 422, title: 'Unknown IANA time zone' },
  invalid_currency: { status: 422, title: 'Unknown ISO 4217 currency code' },
  invalid_date: { status: 422, title: 'The date is not a real calendar date or is out of range' },
  insufficient_points: { status: 422, title: 'Not enough available points' },
  amount_exceeds_reservation: { status: 422, title: 'The amount to post exceeds the reserved amount' },
  not_an_earn: { status: 422, title: 'Only earn operations can be reversed' },
  not_a_spend: { status: 422, title: 'Only spends and posted reservations can be restored' },
  reversal_exceeds_earn: { status: 422, title: 'The reversal would take back more than the earn gave' },
  restore_exceeds_spend: { status: 422, title: 'The restore would give back more than the spend took' },
  transfer_to_self: { status: 422, title: 'A transfer needs two different members' },
  wallet_mismatch: { status: 422, title: 'The operation belongs to another wallet' },
  // rewards (docs/rewards.md)
  reward_not_found: { status: 404, title: 'Reward not found' },
  redemption_not_found: { status: 404, title: 'Redemption not found' },
  voucher_not_found: { status: 404, title: 'No voucher with this code or id' },
  points_payment_not_found: { status: 404, title: 'Points payment not found' },
  reward_conflict: { status: 409, title: 'A reward with this code already exists' },
  reward_unavailable: { status: 409, title: 'The reward is paused or archived' },
  reward_out_of_window: { status: 409, title: 'The reward is not open now (dates or weekdays)' },
  reward_out_of_stock: { status: 409, title: 'The reward is out of stock' },
  reward_limit_reached: { status: 409, title: 'The member reached the limit of redemptions of this reward for the period' },
  code_pool_exhausted: { status: 409, title: 'The reward’s pool of imported codes is empty' },
  voucher_already_used: { status: 409, title: 'The voucher was already used by another order' },
  voucher_expired: { status: 409, title: 'The voucher has expired' },
  voucher_cancelled: { status: 409, title: 'The voucher was cancelled' },
  voucher_not_consumed: { status: 409, title: 'The voucher is not used by this order, so there is nothing to release' },
  redemption_not_cancellable: { status: 409, title: 'This redemption can no longer be cancelled' },
  redemption_not_requested: { status: 409, title: 'Only a requested custom reward can be fulfilled' },
  points_payment_exists: { status: 409, title: 'The order already has a live points payment' },
  points_payment_not_reserved: { status: 409, title: 'The points payment is not reserved any more (captured, cancelled or expired)' },
  points_payment_not_captured: { status: 409, title: 'Only a captured points payment can be refunded' },
  points_payment_expired: { status: 409, title: 'The points reservation timed out; create a new points payment' },
  reward_tier_restricted: { status: 422, title: 'The reward is reserved for other tiers' },
  stock_below_issued: { status: 422, title: 'The stock total cannot go below what was already issued' },
  donation_amount_invalid: { status: 422, title: 'The donation must be a positive multiple of the reward’s cost' },
  voucher_not_applicable: { status: 422, title: 'The voucher does not apply to this cart' },
  voucher_wrong_member: { status: 422, title: 'The voucher belongs to another member' },
  points_payment_not_configured: { status: 422, title: 'Paying with points is not set up for this wallet' },
  points_payment_below_minimum: { status: 422, title: 'Fewer points than the minimum for paying with points' },
  points_payment_over_limit: { status: 422, title: 'Points would pay more of the order than allowed' },
  points_refund_exceeds_order: { status: 422, title: 'The refunds would exceed the order total' },
  // tiers (docs/tiers.md)
  tier_not_found: { status: 404, title: 'Tier not found' },
  tier_membership_not_found: { status: 404, title: 'Paid tier membership not found' },
  tier_in_use: { status: 409, title: 'Members still hold this tier' },
  tier_activity_conflict: { status: 409, title: 'This activity source was already recorded with other values' },
  tier_membership_not_active: { status: 409, title: 'The paid tier membership is cancelled or has ended' },
  invalid_tier_ladder: { status: 422, title: 'The tier ladder is not valid' },
  unknown_tier_metric: { status: 422, title: 'Unknown tier qualification metric' },
  tier_not_assignable: { status: 422, title: 'This tier cannot be given this way' },
  // orders and earning rules (docs/orders.md, docs/rules.md)
  rule_not_found: { status: 404, title: 'Earning rule not found' },
  order_not_found: { status: 404, title: 'Order not found' },
  order_event_conflict: { status: 409, title: 'This order event id was already received with different content' },
  invalid_rule: { status: 422, title: 'The rule configuration is invalid or could never apply' },
  rule_effective_date_invalid: { status: 422, title: 'A rule version must take effect now or later, and not before the latest version' },
  currency_mismatch: { status: 422, title: 'The order currency is not the program’s (or the store’s) currency' },
  unknown_store: { status: 422, title: 'The store code named in the request does not exist in this program' },
  invalid_order: { status: 422, title: 'The order details are inconsistent' },
  invalid_points_payment: { status: 422, title: 'The points payment of the order is not a spend, posted reservation or reservation of this program' },
  unknown_action_type: { status: 422, title: 'No earning rule or challenge of this program uses this action type' },
  // bulk imports (docs/operations.md)
  import_not_found: { status: 404, title: 'Import not found' },
  import_rejected: { status: 422, title: 'The file has invalid rows; nothing was imported' },
  // events, webhooks and messages (docs/events.md, docs/webhooks.md, docs/messages.md)
  event_not_found: { status: 404, title: 'Event not found' },
  webhook_endpoint_not_found: { status: 404, title: 'Webhook endpoint not found' },
  webhook_delivery_not_found: { status: 404, title: 'Webhook delivery not found' },
  message_not_found: { status: 404, title: 'Message not found' },
  template_not_found: { status: 404, title: 'No template of this kind in this locale' },
  invalid_unsubscribe_token: { status: 404, title: 'The unsubscribe link is not valid' },
  invalid_webhook_url: { status: 422, title: 'The webhook URL is not an http(s) URL Laurel can deliver to' },
  unknown_event_type: { status: 422, title: 'No event type matches this subscription' },
  unknown_message_kind: { status: 422, title: 'Unknown message kind' },
  invalid_template: { status: 422, title: 'The message template is not valid' },
  rate_limited: { status: 429, title: 'Too many requests for this API key' },
  internal_error: { status: 500, title: 'Internal error' },
  service_unavailable: { status: 503, title: 'The database is unavailable; retry later' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;

export class ProblemError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extra: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, extra: Record<string, unknown> = {}) {
    super(detail ?? errorCodes[code].title);
    this.code = code;
    this.status = errorCodes[code].status;
    this.extra = extra;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  [extra: string]: unknown;
}

export function problemBody(error: ProblemError, instance?: string, requestId?: string): Problem {
  return {
    // Extras first: an extra never overrides a standard member (an extra `status` string once broke the response).
    ...error.extra,
    type: `urn:laurel:problem:${error.code}`,
    title: errorCodes[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
  };
}

/** Asserts a ledger invariant; a failure is a bug, never a client error. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
