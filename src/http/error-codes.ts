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
    type: `urn:laurel:problem:${error.code}`,
    title: errorCodes[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(instance ? { instance } : {}),
    ...(requestId ? { requestId } : {}),
    ...error.extra,
  };
}

/** Asserts a ledger invariant; a failure is a bug, never a client error. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`invariant violated: ${message}`);
}
