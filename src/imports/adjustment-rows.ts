import { zonedMidnight } from '../ledger/expiry-policy.ts';
import type { RowError } from './member-rows.ts';
import { DEFAULT_WALLET, parseJsonLine } from './member-rows.ts';

/** One line of a bulk adjustment file: who, how many points (signed), why. Pure. */
export interface AdjustmentRow {
  line: number;
  customerId: string;
  wallet: string;
  amount: number;
  reason: string;
  expiresAt: Date | null;
}

const FIELDS = ['customer_id', 'amount', 'reason', 'wallet', 'expires_at'] as const;
type Field = (typeof FIELDS)[number];
const CAMEL: Record<string, Field> = { customerId: 'customer_id', amount: 'amount', reason: 'reason', wallet: 'wallet', expiresAt: 'expires_at' };
const SIGNED = /^[+-]?\d{1,16}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export type RawAdjustment = { line: number; values: Partial<Record<Field, unknown>> };

export function adjustmentColumns(header: string[]): { columns: Field[] } | { error: string } {
  const columns: Field[] = [];
  for (const rawName of header) {
    const name = rawName.trim();
    const field = (CAMEL[name] ?? name.toLowerCase()) as Field;
    if (!FIELDS.includes(field)) return { error: `unknown column "${name}" (expected ${FIELDS.join(', ')})` };
    if (columns.includes(field)) return { error: `column "${name}" appears twice` };
    columns.push(field);
  }
  for (const required of ['customer_id', 'amount', 'reason'] as const) {
    if (!columns.includes(required)) return { error: `the header has no ${required} column` };
  }
  return { columns };
}

export function rawAdjustmentFromCsv(line: number, fields: string[], columns: Field[]): RawAdjustment | RowError {
  if (fields.length !== columns.length) return { line, code: 'validation_failed', message: `${fields.length} fields, the header has ${columns.length}` };
  const values: RawAdjustment['values'] = {};
  columns.forEach((c, i) => {
    const v = fields[i]!.trim();
    if (v !== '') values[c] = v;
  });
  return { line, values };
}

export function rawAdjustmentFromJson(line: number, text: string): RawAdjustment | RowError {
  const parsed = parseJsonLine(line, text);
  if ('error' in parsed) return parsed.error;
  const values: RawAdjustment['values'] = {};
  for (const [key, v] of Object.entries(parsed.value)) {
    const field = CAMEL[key];
    if (!field || !Object.hasOwn(CAMEL, key)) return { line, code: 'validation_failed', field: key, message: `unknown field "${key}"` };
    if (v !== null && v !== undefined && v !== '') values[field] = v;
  }
  return { line, values };
}

export function validateAdjustmentRow(raw: RawAdjustment, ctx: { now: Date; timeZone: string; wallets: Set<string> }): { row: AdjustmentRow; errors?: undefined } | { errors: RowError[]; row?: undefined } {
  const { line, values } = raw;
  const errors: RowError[] = [];
  const fail = (field: string, code: string, message: string) => errors.push({ line, field, code, message });
  const customerId = values.customer_id;
  if (typeof customerId !== 'string' || customerId.length < 1 || customerId.length > 255 || CONTROL.test(customerId)) {
    fail('customer_id', 'validation_failed', 'customer_id is required (1–255 characters)');
  }
  let amount: number | undefined;
  if (typeof values.amount === 'number' && Number.isSafeInteger(values.amount)) amount = values.amount;
  else if (typeof values.amount === 'string' && SIGNED.test(values.amount) && Number.isSafeInteger(Number(values.amount))) amount = Number(values.amount);
  if (amount === undefined || amount === 0) fail('amount', 'validation_failed', `amount ${JSON.stringify(values.amount)} is not a non-zero whole number (positive adds, negative removes)`);
  const reason = values.reason;
  if (typeof reason !== 'string' || reason.trim().length < 3 || reason.length > 500 || CONTROL.test(reason)) {
    fail('reason', 'validation_failed', 'reason is required (3–500 characters): it is kept in the audit log');
  }
  const wallet = values.wallet === undefined ? DEFAULT_WALLET : values.wallet;
  if (typeof wallet !== 'string' || !ctx.wallets.has(wallet)) fail('wallet', 'unknown_wallet', `this program has no wallet ${JSON.stringify(wallet)}`);
  let expiresAt: Date | null = null;
  if (values.expires_at !== undefined) {
    const text = typeof values.expires_at === 'string' ? values.expires_at : '';
    const day = DATE.exec(text);
    const at = TIMESTAMP.test(text) ? new Date(text) : day ? zonedMidnight(Number(day[1]), Number(day[2]), Number(day[3]) + 1, ctx.timeZone) : undefined;
    if (!at || Number.isNaN(at.getTime()) || at.getTime() <= ctx.now.getTime()) fail('expires_at', 'invalid_date', `expires_at ${JSON.stringify(values.expires_at)} is not a future date or timestamp with offset`);
    else if (amount !== undefined && amount < 0) fail('expires_at', 'validation_failed', 'expires_at only applies to positive adjustments');
    else expiresAt = at;
  }
  if (errors.length > 0) return { errors: typeof customerId === 'string' ? errors.map((e) => ({ ...e, customerId })) : errors };
  return { row: { line, customerId: customerId as string, wallet: wallet as string, amount: amount!, reason: (reason as string).trim(), expiresAt } };
}
