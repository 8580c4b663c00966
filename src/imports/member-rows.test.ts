import { describe, expect, it } from 'vitest';
import { adjustmentColumns, rawAdjustmentFromCsv, rawAdjustmentFromJson, validateAdjustmentRow } from './adjustment-rows.ts';
import { csvColumns, openingBalanceOperationId, rawFromCsv, rawFromJson, validateMemberRow, type ImportWallet, type RawMember, type RowContext } from './member-rows.ts';

const wallets = new Map<string, ImportWallet>([
  ['points', { id: '00000000-0000-4000-8000-000000000001', code: 'points', expiry_kind: 'end_of_month', expiry_count: 0 }],
  ['cashback', { id: '00000000-0000-4000-8000-000000000002', code: 'cashback', expiry_kind: 'never', expiry_count: 0 }],
]);
const ctx: RowContext = { now: new Date('2026-03-10T12:00:00Z'), timeZone: 'Asia/Seoul', wallets };

function csvRow(header: string, line: string): RawMember {
  const columns = csvColumns(header.split(','), wallets);
  if ('error' in columns) throw new Error(columns.error);
  const raw = rawFromCsv(2, line.split(','), columns.columns);
  if ('code' in raw) throw new Error(raw.message);
  return raw;
}

describe('csvColumns', () => {
  it('accepts snake_case and camelCase names, wallet-suffixed balances and the export-only columns', () => {
    const result = csvColumns(['customerId', 'first_name', 'balance', 'balance:cashback', 'expires_at:cashback', 'member_id', 'status', 'pending:points'], wallets);
    expect(result).toEqual({
      columns: [
        { kind: 'field', field: 'customer_id' }, { kind: 'field', field: 'first_name' }, { kind: 'balance', wallet: 'points' },
        { kind: 'balance', wallet: 'cashback' }, { kind: 'expires', wallet: 'cashback' }, { kind: 'ignored' }, { kind: 'ignored' }, { kind: 'ignored' },
      ],
    });
  });

  it('refuses unknown columns, unknown wallets, duplicates, a missing customer_id and an expiry without its balance', () => {
    expect(csvColumns(['customer_id', 'emial'], wallets)).toEqual({ error: expect.stringContaining('unknown column "emial"') });
    expect(csvColumns(['customer_id', 'balance:gold'], wallets)).toEqual({ error: expect.stringContaining('no wallet "gold"') });
    expect(csvColumns(['customer_id', 'email', 'Email'], wallets)).toEqual({ error: expect.stringContaining('twice') });
    expect(csvColumns(['email'], wallets)).toEqual({ error: 'the header has no customer_id column' });
    expect(csvColumns(['customer_id', 'expires_at'], wallets)).toEqual({ error: expect.stringContaining('needs its balance column') });
  });
});

describe('validateMemberRow', () => {
  it('normalises a complete row; a date-only expiry runs through that day in the program time zone', () => {
    const raw = csvRow('customer_id,email,phone,birthday,locale,marketing_consent,tags,enrolled_at,balance,expires_at,balance:cashback',
      'c1,Ada@Example.com,+1 202 555 0101,1990-12-10,ko,Yes,vip|vip|early,2020-05-01,1200,2026-12-31,0');
    const result = validateMemberRow(raw, ctx);
    expect(result.errors).toBeUndefined();
    expect(result.row).toMatchObject({
      customerId: 'c1', email: 'Ada@Example.com', phone: '+12025550101', birthday: '1990-12-10', locale: 'ko', marketingConsent: true, tags: ['vip', 'early'],
    });
    // Seoul is UTC+9: 1 Jan 2027 00:00 there.
    expect(result.row!.balances).toEqual([{ walletId: wallets.get('points')!.id, walletCode: 'points', amount: 1200, expiresAt: new Date('2026-12-31T15:00:00Z') }]);
    expect(result.row!.enrolledAt).toEqual(new Date('2020-04-30T15:00:00Z'));
  });

  it('gives a balance without expiry the wallet policy, computed from the import clock', () => {
    const row = validateMemberRow(csvRow('customer_id,balance', 'c1,10'), ctx).row!;
    // end_of_month 0 in Seoul, from 10 March: 1 April 00:00 KST.
    expect(row.balances[0]!.expiresAt).toEqual(new Date('2026-03-31T15:00:00Z'));
  });

  it('reports every bad field of a row with its line', () => {
    const raw = csvRow('customer_id,email,phone,birthday,locale,marketing_consent,balance,expires_at',
      'c1,not-an-email,12345,1990-02-30,english!,maybe,1.5,2020-01-01');
    const result = validateMemberRow(raw, ctx);
    expect(result.errors!.map((e) => [e.field, e.code])).toEqual([
      ['email', 'invalid_email'], ['phone', 'invalid_phone'], ['birthday', 'invalid_date'], ['locale', 'validation_failed'],
      ['marketing_consent', 'validation_failed'], ['balance', 'validation_failed'],
    ]);
    expect(result.errors!.every((e) => e.line === 2 && e.customerId === 'c1')).toBe(true);
  });

  it('refuses negative, fractional and floating balances, a past expiry and a future enrolment', () => {
    for (const [balance, expiry] of [['-5', ''], ['10.0', ''], ['1e3', ''], ['9007199254740993', ''], ['10', '2026-03-09'], ['10', '2026-03-10T11:59:59Z']]) {
      const raw = csvRow('customer_id,balance,expires_at', `c1,${balance},${expiry}`);
      expect(validateMemberRow(raw, ctx).errors, `${balance} ${expiry}`).toHaveLength(1);
    }
    expect(validateMemberRow(csvRow('customer_id,enrolled_at', 'c1,2026-03-11T00:00:00Z'), ctx).errors![0]!.field).toBe('enrolled_at');
  });

  it('reads NDJSON: typed values, balances per wallet, and refuses unknown keys such as __proto__', () => {
    const raw = rawFromJson(7, JSON.stringify({ customerId: 'c9', marketingConsent: false, tags: ['a'], attributes: { shoe: 42 }, balances: [{ wallet: 'cashback', amount: 300, pending: 5 }] }));
    const result = validateMemberRow(raw as RawMember, ctx);
    expect(result.row).toMatchObject({ line: 7, customerId: 'c9', marketingConsent: false, tags: ['a'], attributes: { shoe: 42 } });
    expect(result.row!.balances).toEqual([{ walletId: wallets.get('cashback')!.id, walletCode: 'cashback', amount: 300, expiresAt: null }]);
    expect(rawFromJson(1, '{"customerId":"c1","__proto__":{"admin":true}}')).toMatchObject({ code: 'validation_failed', field: '__proto__' });
    expect(rawFromJson(1, '[1,2]')).toMatchObject({ code: 'validation_failed' });
    expect(rawFromJson(1, '{"customerId":')).toMatchObject({ code: 'invalid_json' });
    expect(validateMemberRow(rawFromJson(1, '{"customerId":"c1","balance":"12"}') as RawMember, ctx).errors).toBeUndefined();
    expect(validateMemberRow(rawFromJson(1, '{"customerId":"c1","balance":12.5}') as RawMember, ctx).errors![0]!.field).toBe('balance');
    expect(validateMemberRow(rawFromJson(1, '{"customerId":5}') as RawMember, ctx).errors![0]!.field).toBe('customer_id');
  });
});

describe('openingBalanceOperationId', () => {
  it('is a stable version-8 UUID that changes with any part of its key', () => {
    const id = openingBalanceOperationId('p', 'batch', 'w', 'c1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(openingBalanceOperationId('p', 'batch', 'w', 'c1')).toBe(id);
    expect(new Set([id, openingBalanceOperationId('p', 'batch2', 'w', 'c1'), openingBalanceOperationId('p', 'batch', 'w2', 'c1'), openingBalanceOperationId('p', 'batch', 'w', 'c2')]).size).toBe(4);
  });
});

describe('adjustment rows', () => {
  const actx = { now: ctx.now, timeZone: 'UTC', wallets: new Set(['points', 'cashback']) };
  it('reads signed amounts and a reason, per wallet', () => {
    const header = adjustmentColumns(['customerId', 'amount', 'reason', 'wallet']);
    if ('error' in header) throw new Error(header.error);
    const raw = rawAdjustmentFromCsv(3, ['c1', '-40', ' goodwill fix ', 'cashback'], header.columns);
    expect(validateAdjustmentRow(raw as never, actx)).toEqual({ row: { line: 3, customerId: 'c1', wallet: 'cashback', amount: -40, reason: 'goodwill fix', expiresAt: null } });
  });

  it('refuses zero or fractional amounts, short reasons, unknown wallets and an expiry on a debit', () => {
    const check = (values: Record<string, unknown>) => validateAdjustmentRow(rawAdjustmentFromJson(1, JSON.stringify({ customerId: 'c1', reason: 'why not', ...values })) as never, actx);
    expect(check({ amount: 0 }).errors![0]!.field).toBe('amount');
    expect(check({ amount: 1.5 }).errors![0]!.field).toBe('amount');
    expect(check({ amount: 5, reason: 'no' }).errors![0]!.field).toBe('reason');
    expect(check({ amount: 5, wallet: 'gold' }).errors![0]!.code).toBe('unknown_wallet');
    expect(check({ amount: -5, expiresAt: '2030-01-01' }).errors![0]!.field).toBe('expires_at');
    expect(check({ amount: 5, expiresAt: '2030-01-01' }).row!.expiresAt).toEqual(new Date('2030-01-02T00:00:00Z'));
    expect(rawAdjustmentFromJson(1, '{"customerId":"c1","constructor":1}')).toMatchObject({ code: 'validation_failed', field: 'constructor' });
    expect(adjustmentColumns(['customer_id', 'amount'])).toEqual({ error: 'the header has no reason column' });
  });
});
