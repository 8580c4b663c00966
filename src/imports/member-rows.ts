import { createHash } from 'node:crypto';
import type { ExpiryKind } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';
import { expiresAt as policyExpiry, zonedMidnight } from '../ledger/expiry-policy.ts';
import { normalizePhone } from '../members/phone.ts';
import { faultMessage, inspectInput } from '../http/input-guard.ts';

/**
 * One line of a member import, from CSV or NDJSON, checked on its own (the file-wide and
 * database checks come later). Pure: no I/O, so every rule is unit-tested here.
 */

export interface ImportWallet {
  id: string;
  code: string;
  expiry_kind: ExpiryKind;
  expiry_count: number;
}

export interface RowContext {
  /** The import's clock (database time): enrolment must be past, expiry future. */
  now: Date;
  timeZone: string;
  defaultCountry?: string;
  wallets: Map<string, ImportWallet>;
}

export interface OpeningBalance {
  walletId: string;
  walletCode: string;
  amount: number;
  expiresAt: Date | null;
}

export interface MemberImportRow {
  line: number;
  customerId: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  birthday: string | null;
  locale: string | null;
  marketingConsent: boolean | null;
  tags: string[] | null;
  attributes: Record<string, unknown> | null;
  enrolledAt: Date | null;
  balances: OpeningBalance[];
}

export interface RowError {
  line: number;
  customerId?: string;
  field?: string;
  code: string;
  message: string;
}

/** A row as read, before any check: CSV gives strings, NDJSON typed JSON values. */
export interface RawMember {
  line: number;
  values: Partial<Record<MemberField, unknown>>;
  balances: { wallet: string; amount: unknown; expiresAt: unknown }[];
}

export const MEMBER_FIELDS = [
  'customer_id', 'email', 'phone', 'first_name', 'last_name', 'birthday', 'locale', 'marketing_consent', 'tags', 'attributes', 'enrolled_at',
] as const;
export type MemberField = (typeof MEMBER_FIELDS)[number];

const CAMEL: Record<string, MemberField> = {
  customerId: 'customer_id', email: 'email', phone: 'phone', firstName: 'first_name', lastName: 'last_name', birthday: 'birthday',
  locale: 'locale', marketingConsent: 'marketing_consent', tags: 'tags', attributes: 'attributes', enrolledAt: 'enrolled_at',
};

/** Columns an export writes that an import reads past (so an export file imports as it is). */
const EXPORT_ONLY = new Set(['member_id', 'status', 'created_at']);
const EXPORT_ONLY_WALLET_PREFIXES = ['pending', 'reserved', 'earned'];

export const DEFAULT_WALLET = 'points';
/** Tags in one CSV cell: tag1|tag2. */
export const TAG_SEPARATOR = '|';
export const MAX_TAGS = 100;
const CONTROL = /[\u0000-\u001f\u007f]/;

export type CsvColumn =
  | { kind: 'field'; field: MemberField }
  | { kind: 'balance'; wallet: string }
  | { kind: 'expires'; wallet: string }
  | { kind: 'ignored' };

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Reads the header line: every column must be known, so a typo never silently drops data. */
export function csvColumns(header: string[], wallets: Map<string, ImportWallet>): { columns: CsvColumn[] } | { error: string } {
  const columns: CsvColumn[] = [];
  const seen = new Set<string>();
  for (const rawName of header) {
    const name = rawName.trim();
    const [base, wallet] = name.includes(':') ? [snake(name.slice(0, name.indexOf(':'))), name.slice(name.indexOf(':') + 1).trim()] : [snake(name), undefined];
    const key = wallet === undefined ? base : `${base}:${wallet}`;
    if (seen.has(key)) return { error: `column "${name}" appears twice` };
    seen.add(key);
    if ((MEMBER_FIELDS as readonly string[]).includes(base) && wallet === undefined) {
      if (base === 'attributes') return { error: 'column "attributes" is only supported in NDJSON files' };
      columns.push({ kind: 'field', field: base as MemberField });
    } else if (base === 'balance' || base === 'expires_at') {
      const code = wallet ?? DEFAULT_WALLET;
      if (!wallets.has(code)) return { error: `column "${name}": this program has no wallet "${code}"` };
      columns.push(base === 'balance' ? { kind: 'balance', wallet: code } : { kind: 'expires', wallet: code });
    } else if ((wallet === undefined && EXPORT_ONLY.has(base)) || (wallet !== undefined && EXPORT_ONLY_WALLET_PREFIXES.includes(base))) {
      columns.push({ kind: 'ignored' });
    } else {
      return { error: `unknown column "${name}" (expected ${MEMBER_FIELDS.filter((f) => f !== 'attributes').join(', ')}, balance[:wallet], expires_at[:wallet])` };
    }
  }
  if (!columns.some((c) => c.kind === 'field' && c.field === 'customer_id')) return { error: 'the header has no customer_id column' };
  for (const c of columns) {
    if (c.kind === 'expires' && !columns.some((b) => b.kind === 'balance' && b.wallet === c.wallet)) {
      return { error: `column expires_at${c.wallet === DEFAULT_WALLET ? '' : `:${c.wallet}`} needs its balance column` };
    }
  }
  return { columns };
}

export function rawFromCsv(line: number, fields: string[], columns: CsvColumn[]): RawMember | RowError {
  if (fields.length !== columns.length) {
    return { line, code: 'validation_failed', message: `${fields.length} fields, the header has ${columns.length}` };
  }
  const raw: RawMember = { line, values: {}, balances: [] };
  const byWallet = new Map<string, { wallet: string; amount: unknown; expiresAt: unknown }>();
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    const value = fields[i]!.trim();
    if (value === '') continue;
    if (column.kind === 'field') raw.values[column.field] = value;
    else if (column.kind === 'balance' || column.kind === 'expires') {
      let b = byWallet.get(column.wallet);
      if (!b) byWallet.set(column.wallet, (b = { wallet: column.wallet, amount: undefined, expiresAt: undefined }));
      if (column.kind === 'balance') b.amount = value;
      else b.expiresAt = value;
    }
  }
  raw.balances = [...byWallet.values()];
  return raw;
}

const JSON_KEYS = new Set([...Object.keys(CAMEL), 'balance', 'expiresAt', 'balances', 'memberId', 'status', 'createdAt']);

/**
 * One NDJSON line (an object with the API's camelCase member fields and `balances`) as an object,
 * or that line's error: not JSON, not an object, or text PostgreSQL cannot hold / hostile nesting
 * (the checks every request body gets).
 */
export function parseJsonLine(line: number, text: string): { value: Record<string, unknown> } | { error: RowError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: { line, code: 'invalid_json', message: `not valid JSON: ${(error as Error).message}` } };
  }
  const fault = inspectInput(value, '');
  if (fault) {
    const field = fault.at.slice(1);
    return { error: { line, code: 'validation_failed', field, message: faultMessage({ ...fault, at: field }) } };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: { line, code: 'validation_failed', message: 'each line must be a JSON object' } };
  return { value: value as Record<string, unknown> };
}

export function rawFromJson(line: number, text: string): RawMember | RowError {
  const parsed = parseJsonLine(line, text);
  if ('error' in parsed) return parsed.error;
  const object = parsed.value;
  for (const key of Object.keys(object)) {
    if (!JSON_KEYS.has(key)) return { line, code: 'validation_failed', field: key, message: `unknown field "${key}"` };
  }
  const raw: RawMember = { line, values: {}, balances: [] };
  for (const [key, field] of Object.entries(CAMEL)) {
    const v = object[key];
    if (v !== undefined && v !== null && v !== '') raw.values[field] = v;
  }
  if (object.balances !== undefined && object.balance !== undefined) {
    return { line, code: 'validation_failed', field: 'balance', message: 'give either "balance" or "balances", not both' };
  }
  if (object.balance !== undefined && object.balance !== null) {
    raw.balances.push({ wallet: DEFAULT_WALLET, amount: object.balance, expiresAt: object.expiresAt ?? undefined });
  } else if (object.expiresAt !== undefined && object.expiresAt !== null) {
    return { line, code: 'validation_failed', field: 'expiresAt', message: '"expiresAt" needs "balance"' };
  }
  if (object.balances !== undefined && object.balances !== null) {
    if (!Array.isArray(object.balances)) return { line, code: 'validation_failed', field: 'balances', message: '"balances" must be an array of {wallet, amount, expiresAt?}' };
    for (const item of object.balances as unknown[]) {
      if (!item || typeof item !== 'object' || Array.isArray(item)) return { line, code: 'validation_failed', field: 'balances', message: 'each balance must be an object {wallet, amount, expiresAt?}' };
      const b = item as Record<string, unknown>;
      for (const key of Object.keys(b)) {
        // pending, reserved and lifetimeEarned come with an export; the opening balance is `amount`.
        if (!['wallet', 'amount', 'expiresAt', 'pending', 'reserved', 'lifetimeEarned'].includes(key)) {
          return { line, code: 'validation_failed', field: `balances.${key}`, message: `unknown field "${key}" in a balance` };
        }
      }
      raw.balances.push({ wallet: typeof b.wallet === 'string' ? b.wallet : String(b.wallet ?? DEFAULT_WALLET), amount: b.amount, expiresAt: b.expiresAt ?? undefined });
    }
  }
  return raw;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCALE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const INTEGER = /^\d{1,16}$/;

function realDate(text: string): { y: number; m: number; d: number } | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined;
  return { y, m, d };
}

/**
 * An instant: a timestamp with its offset, or a calendar date read in the program's time zone —
 * `start` gives that day's first instant (enrolment), `end` the instant the day ends (a balance
 * valid through that date).
 */
function instant(text: string, timeZone: string, edge: 'start' | 'end'): Date | undefined {
  if (TIMESTAMP.test(text)) {
    const date = new Date(text);
    return Number.isNaN(date.getTime()) || !realDate(text.slice(0, 10)) ? undefined : date;
  }
  const day = realDate(text);
  if (!day || day.y < 1900 || day.y > 9999) return undefined;
  return zonedMidnight(day.y, day.m, edge === 'start' ? day.d : day.d + 1, timeZone);
}

function asText(value: unknown, field: string, errors: RowError[], line: number, max: number, min = 1): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'string') {
    errors.push({ line, field, code: 'validation_failed', message: `${field} must be text` });
    return null;
  }
  if (value.length < min || value.length > max) {
    errors.push({ line, field, code: 'validation_failed', message: `${field} must be ${min}–${max} characters` });
    return null;
  }
  if (CONTROL.test(value)) {
    errors.push({ line, field, code: 'validation_failed', message: `${field} contains control characters` });
    return null;
  }
  return value;
}

/** Checks and normalises one row; the errors name their field. */
export function validateMemberRow(raw: RawMember, ctx: RowContext): { row: MemberImportRow; errors?: undefined } | { errors: RowError[]; row?: undefined } {
  const { line, values } = raw;
  const errors: RowError[] = [];
  const fail = (field: string, code: string, message: string) => errors.push({ line, field, code, message });

  const customerId = asText(values.customer_id, 'customer_id', errors, line, 255);
  if (values.customer_id === undefined) fail('customer_id', 'validation_failed', 'customer_id is required');

  let email = asText(values.email, 'email', errors, line, 320, 3);
  if (email !== null && !EMAIL.test(email)) {
    fail('email', 'invalid_email', `"${email}" is not an email address`);
    email = null;
  }
  let phone: string | null = null;
  const phoneText = asText(values.phone, 'phone', errors, line, 32, 2);
  if (phoneText !== null) {
    try {
      phone = normalizePhone(phoneText, ctx.defaultCountry);
    } catch (error) {
      fail('phone', 'invalid_phone', error instanceof ProblemError ? error.message : `"${phoneText}" is not a valid phone number`);
    }
  }
  const firstName = asText(values.first_name, 'first_name', errors, line, 200);
  const lastName = asText(values.last_name, 'last_name', errors, line, 200);

  let birthday = asText(values.birthday, 'birthday', errors, line, 10);
  if (birthday !== null) {
    const day = realDate(birthday);
    if (!day || day.y < 1900 || Date.UTC(day.y, day.m - 1, day.d) > ctx.now.getTime()) {
      fail('birthday', 'invalid_date', `birthday "${birthday}" is not a real past date (YYYY-MM-DD, from 1900)`);
      birthday = null;
    }
  }
  let locale = asText(values.locale, 'locale', errors, line, 35, 2);
  if (locale !== null && !LOCALE.test(locale)) {
    fail('locale', 'validation_failed', `locale "${locale}" is not a BCP 47 tag such as en, ko or zh-Hant`);
    locale = null;
  }

  let marketingConsent: boolean | null = null;
  const consent = values.marketing_consent;
  if (typeof consent === 'boolean') marketingConsent = consent;
  else if (typeof consent === 'string') {
    const v = consent.toLowerCase();
    if (['true', 'yes', 'y', '1'].includes(v)) marketingConsent = true;
    else if (['false', 'no', 'n', '0'].includes(v)) marketingConsent = false;
    else fail('marketing_consent', 'validation_failed', `marketing_consent "${consent}" is not true/false, yes/no or 1/0`);
  } else if (consent !== undefined) fail('marketing_consent', 'validation_failed', 'marketing_consent must be a boolean');

  let tags: string[] | null = null;
  const tagValue = values.tags;
  if (tagValue !== undefined) {
    const list = typeof tagValue === 'string' ? tagValue.split(TAG_SEPARATOR).map((t) => t.trim()).filter((t) => t !== '') : tagValue;
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string' || t.length < 1 || t.length > 64 || CONTROL.test(t))) {
      fail('tags', 'validation_failed', `tags must be a list of 1–64 character texts (in CSV: separated by "${TAG_SEPARATOR}")`);
    } else if (list.length > MAX_TAGS) {
      fail('tags', 'validation_failed', `at most ${MAX_TAGS} tags`);
    } else tags = [...new Set(list as string[])];
  }

  let attributes: Record<string, unknown> | null = null;
  const attributeValue = values.attributes;
  if (attributeValue !== undefined) {
    if (!attributeValue || typeof attributeValue !== 'object' || Array.isArray(attributeValue)) fail('attributes', 'validation_failed', 'attributes must be a JSON object');
    else if (Object.keys(attributeValue).length > 50 || Object.keys(attributeValue).some((k) => k.length > 64)) {
      fail('attributes', 'validation_failed', 'attributes: at most 50 keys of at most 64 characters');
    } else attributes = attributeValue as Record<string, unknown>;
  }

  let enrolledAt: Date | null = null;
  const enrolledText = asText(values.enrolled_at, 'enrolled_at', errors, line, 40);
  if (enrolledText !== null) {
    const at = instant(enrolledText, ctx.timeZone, 'start');
    if (!at || at.getTime() > ctx.now.getTime()) fail('enrolled_at', 'invalid_date', `enrolled_at "${enrolledText}" is not a past date or timestamp with offset`);
    else enrolledAt = at;
  }

  const balances: OpeningBalance[] = [];
  const seenWallets = new Set<string>();
  for (const b of raw.balances) {
    const field = b.wallet === DEFAULT_WALLET ? 'balance' : `balance:${b.wallet}`;
    const wallet = ctx.wallets.get(b.wallet);
    if (!wallet) {
      fail(field, 'unknown_wallet', `this program has no wallet "${b.wallet}"`);
      continue;
    }
    if (seenWallets.has(wallet.code)) {
      fail(field, 'validation_failed', `two opening balances for wallet "${wallet.code}"`);
      continue;
    }
    seenWallets.add(wallet.code);
    let amount: number | undefined;
    if (typeof b.amount === 'number' && Number.isSafeInteger(b.amount) && b.amount >= 0) amount = b.amount;
    else if (typeof b.amount === 'string' && INTEGER.test(b.amount) && Number.isSafeInteger(Number(b.amount))) amount = Number(b.amount);
    if (amount === undefined) {
      fail(field, 'validation_failed', `opening balance ${JSON.stringify(b.amount)} is not a whole number of points from 0 to 2^53 (no decimals, no negatives)`);
      continue;
    }
    let expiresAt: Date | null = null;
    if (b.expiresAt !== undefined) {
      const text = typeof b.expiresAt === 'string' ? b.expiresAt.trim() : '';
      const at = text ? instant(text, ctx.timeZone, 'end') : undefined;
      if (!at || at.getTime() <= ctx.now.getTime()) {
        fail(b.wallet === DEFAULT_WALLET ? 'expires_at' : `expires_at:${b.wallet}`, 'invalid_date', `expiry ${JSON.stringify(b.expiresAt)} is not a future date (YYYY-MM-DD, valid through that day) or timestamp with offset`);
        continue;
      }
      expiresAt = at;
    } else {
      expiresAt = policyExpiry({ kind: wallet.expiry_kind, count: wallet.expiry_count }, ctx.now, ctx.timeZone);
    }
    if (amount > 0) balances.push({ walletId: wallet.id, walletCode: wallet.code, amount, expiresAt });
  }

  if (errors.length > 0) return { errors: errors.map((e) => (customerId ? { ...e, customerId } : e)) };
  return {
    row: {
      line, customerId: customerId!, email, phone, firstName, lastName, birthday, locale, marketingConsent, tags, attributes, enrolledAt, balances,
    },
  };
}

/**
 * The operation id of an opening balance, derived from (program, batch key, wallet, customer id):
 * a batch applies each balance at most once — the primary key of operations refuses a second —
 * and finding an applied balance is a primary-key lookup. A version-8 (custom) UUID of sha256.
 */
export function openingBalanceOperationId(programId: string, batchKey: string, walletId: string, customerId: string): string {
  const digest = createHash('sha256').update(`${programId}\u001f${batchKey}\u001f${walletId}\u001f${customerId}`).digest();
  digest[6] = (digest[6]! & 0x0f) | 0x80;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
