import { describe, expect, it } from 'vitest';
import { hashText } from '../../src/imports/import-source.ts';
import { importMembers } from '../../src/imports/member-import.ts';
import { DAY, setupTestApp, type TestContext, type TestProgram } from '../helpers.ts';

const WALLETS = [
  { code: 'points', name: 'Points', expiry: { kind: 'days_after_earn' as const, count: 365 } },
  { code: 'cashback', name: 'Cashback', unit: 'currency' as const },
];

async function counts(t: TestContext, programId: string) {
  const one = async (table: 'members' | 'entries' | 'operations' | 'lots' | 'member_wallets') =>
    Number((await t.db.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('program_id', '=', programId).executeTakeFirstOrThrow()).n);
  return { members: await one('members'), entries: await one('entries'), operations: await one('operations'), lots: await one('lots'), memberWallets: await one('member_wallets') };
}

function upload(t: TestContext, body: string, options: { query?: string; type?: string; key?: string; idempotencyKey?: string } = {}) {
  return t.call('POST', `/v1/imports/members${options.query ? `?${options.query}` : ''}`, {
    body, key: options.key, idempotencyKey: options.idempotencyKey ?? false, headers: { 'content-type': options.type ?? 'text/csv' },
  });
}

async function verified(t: TestContext, program?: TestProgram) {
  const res = await t.call('GET', '/v1/ledger/verify', { key: program?.key });
  expect(res.body.ok, JSON.stringify(res.body.checks?.filter((c: { ok: boolean }) => !c.ok))).toBe(true);
}

async function balanceOf(t: TestContext, customerId: string, wallet = 'points', program?: TestProgram) {
  const member = await t.call('GET', `/v1/members/lookup?customerId=${encodeURIComponent(customerId)}`, { key: program?.key });
  expect(member.status).toBe(200);
  const res = await t.call('GET', `/v1/members/${member.body.id}/balances/${wallet}`, { key: program?.key });
  return { member: member.body, balance: res.body };
}

describe('member import', async () => {
  const t = await setupTestApp({ program: { wallets: WALLETS } });

  const csv = [
    'customer_id,email,phone,first_name,last_name,birthday,locale,marketing_consent,tags,balance,expires_at,balance:cashback',
    'c-1,ada@example.com,+12025550101,Ada,Lovelace,1990-12-10,en,yes,vip|early,1200,2099-12-31,500',
    'c-2,grace@example.com,,Grace,Hopper,,,no,,300,,',
    '',
    'c-3,,,,,,,,,,,',
  ].join('\r\n');

  it('creates members and turns every opening balance into a ledger earn', async () => {
    const before = await counts(t, t.program.id);
    const res = await upload(t, csv);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      status: 'completed', replayed: false, batchKey: hashText(csv), format: 'csv', onInvalid: 'reject',
      rows: { total: 3, valid: 3, invalid: 0 }, members: { created: 3, updated: 0, unchanged: 0 },
      balances: { applied: 3, alreadyImported: 0, points: 2000 }, errors: [], errorCount: 0,
    });
    const after = await counts(t, t.program.id);
    expect(after).toEqual({ members: before.members + 3, entries: before.entries + 3, operations: before.operations + 3, lots: before.lots + 3, memberWallets: before.memberWallets + 3 });

    const ada = await balanceOf(t, 'c-1');
    expect(ada.member).toMatchObject({
      email: 'ada@example.com', phone: '+12025550101', firstName: 'Ada', birthday: '1990-12-10', locale: 'en', marketingConsent: true, tags: ['vip', 'early'], enrollmentSource: 'import',
    });
    expect(ada.balance).toMatchObject({ available: 1200, pending: 0, lifetime: { earned: 1200 } });
    // The date is the last valid day, in the program's time zone (New York, UTC-5 in winter).
    expect(ada.balance.nextExpirations).toEqual([{ amount: 1200, expiresAt: '2100-01-01T05:00:00.000Z' }]);
    expect((await balanceOf(t, 'c-1', 'cashback')).balance).toMatchObject({ available: 500, nextExpirations: [] });

    const history = await t.call('GET', `/v1/members/${ada.member.id}/entries`);
    const earn = history.body.data.find((e: { wallet: string }) => e.wallet === 'points');
    expect(earn).toMatchObject({ kind: 'earn', amount: 1200, from: 'program:issued', to: 'member:available', operationKind: 'earn', reference: { type: 'import', id: hashText(csv) } });

    // No expiry given: the wallet's policy (365 days after the import).
    const grace = await balanceOf(t, 'c-2');
    const expiry = new Date(grace.balance.nextExpirations[0].expiresAt).getTime();
    expect(Math.abs(expiry - (Date.now() + 365 * DAY))).toBeLessThan(DAY);
    expect((await balanceOf(t, 'c-3')).balance.available).toBe(0);
    await verified(t);
  });

  it('replays the same file instead of applying it twice', async () => {
    const before = await counts(t, t.program.id);
    const res = await upload(t, csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'completed', replayed: true, balances: { applied: 3 } });
    expect(await counts(t, t.program.id)).toEqual(before);
    expect((await balanceOf(t, 'c-1')).balance.available).toBe(1200);
  });

  it('applies each balance once per batch key even when the file changes; a new key applies again', async () => {
    const changed = `${csv}\r\nc-4,,,,,,,,,40,,\r\n`.replace('c-2,grace@example.com,,Grace,Hopper,,,no,,300', 'c-2,grace@example.com,,Grace,Hopper,,,no,,999');
    const res = await upload(t, changed, { query: `batchKey=${hashText(csv)}` });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.balances).toEqual({ applied: 1, alreadyImported: 3, points: 40 });
    expect(res.body.members).toEqual({ created: 1, updated: 0, unchanged: 3 });
    expect((await balanceOf(t, 'c-2')).balance.available).toBe(300);
    expect((await balanceOf(t, 'c-4')).balance.available).toBe(40);

    const again = await upload(t, 'customer_id,balance\nc-4,60\n', { query: 'batchKey=second-migration' });
    expect(again.status).toBe(201);
    expect((await balanceOf(t, 'c-4')).balance).toMatchObject({ available: 100, lifetime: { earned: 100 } });
    await verified(t);
  });

  it('rejects a file with invalid rows as a whole, naming each line, and writes nothing', async () => {
    const before = await counts(t, t.program.id);
    const bad = [
      'customer_id,email,phone,birthday,balance',
      'n-1,ok@example.com,,,10',
      'n-2,broken-email,,,10',
      'n-3,,+1,,10',
      'n-4,,,2031-01-01,10',
      'n-5,,,,-3',
      'n-1,,,,10',
      'n-6,ada@example.com,,,10',
      'n-7,"unterminated,,,10',
    ].join('\n');
    const res = await upload(t, bad);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('import_rejected');
    const report = res.body.report;
    expect(report).toMatchObject({ status: 'rejected', batchId: null, rows: { total: 8, invalid: 7 }, members: { created: 0 }, balances: { applied: 0 } });
    expect(report.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [3, 'invalid_email'], [4, 'invalid_phone'], [5, 'invalid_date'], [6, 'validation_failed'], [7, 'duplicate_row'], [8, 'member_conflict'], [9, 'validation_failed'],
    ]);
    expect(report.errors.find((e: { line: number }) => e.line === 8)).toMatchObject({ customerId: 'n-6', field: 'email', message: 'another member already has this email' });
    expect(await counts(t, t.program.id)).toEqual(before);
    const history = await t.call('GET', '/v1/imports?limit=1');
    expect(history.body.data[0]).toMatchObject({ kind: 'members', status: 'rejected', rowsTotal: 8, rowsInvalid: 7 });
    const stored = await t.call('GET', `/v1/imports/${history.body.data[0].id}`);
    expect(stored.body.report.errorCount).toBe(7);
  });

  it('imports the valid rows and reports the others with onInvalid=skip', async () => {
    const res = await upload(t, 'customer_id,email,balance\ns-1,s1@example.com,70\ns-2,grace@example.com,80\ns-3,,x\n', { query: 'onInvalid=skip' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ rows: { total: 3, valid: 1, invalid: 2 }, members: { created: 1 }, balances: { applied: 1, points: 70 }, errorCount: 2 });
    expect(res.body.errors.map((e: { line: number }) => e.line)).toEqual([3, 4]);
    await expect(t.call('GET', '/v1/members/lookup?customerId=s-2')).resolves.toMatchObject({ status: 404 });
    await verified(t);
  });

  it('updates existing members with the fields given, keeps the others, and settles a negative balance first', async () => {
    const m = await t.member({ customerId: 'debt-1', firstName: 'Old', email: 'debt@example.com' });
    const earned = await t.earn(m.id, 100);
    await t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 100 } });
    const reversed = await t.call('POST', `/v1/operations/${earned.operation.id}/reverse`, { body: {} });
    expect(reversed.body.balance.available).toBe(-100);

    const res = await upload(t, 'customer_id,first_name,last_name,balance\ndebt-1,New,,150\n');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.members).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const { member, balance } = await balanceOf(t, 'debt-1');
    expect(member).toMatchObject({ firstName: 'New', lastName: null, email: 'debt@example.com', enrollmentSource: 'api' });
    expect(balance).toMatchObject({ available: 50, lifetime: { earned: 250 } });
    const lots = await t.call('GET', `/v1/members/${m.id}/lots`);
    expect(lots.body.data.map((l: { remaining: number }) => l.remaining)).toEqual([50]);
    await verified(t);
  });

  it('refuses an opening balance for a blocked member', async () => {
    const m = await t.member({ customerId: 'blocked-1' });
    await t.call('PATCH', `/v1/members/${m.id}`, { body: { status: 'blocked' } });
    const res = await upload(t, 'customer_id,balance\nblocked-1,5\n');
    expect(res.status).toBe(422);
    expect(res.body.report.errors).toEqual([expect.objectContaining({ line: 2, code: 'member_blocked', customerId: 'blocked-1' })]);
  });

  it('reads NDJSON with balances per wallet and attributes, and refuses hostile keys', async () => {
    const lines = [
      JSON.stringify({ customerId: 'j-1', email: 'j1@example.com', tags: ['x'], attributes: { size: 'M' }, balances: [{ wallet: 'points', amount: 10 }, { wallet: 'cashback', amount: 20, expiresAt: '2099-01-01T00:00:00Z' }] }),
      JSON.stringify({ customerId: 'j-2', balance: 5 }),
    ].join('\n');
    const res = await upload(t, lines, { type: 'application/x-ndjson' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.balances.points).toBe(35);
    expect((await balanceOf(t, 'j-1', 'cashback')).balance.nextExpirations).toEqual([{ amount: 20, expiresAt: '2099-01-01T00:00:00.000Z' }]);
    expect((await balanceOf(t, 'j-1')).member.attributes).toEqual({ size: 'M' });

    const hostile = await upload(t, '{"customerId":"h-1","__proto__":{"isAdmin":true}}\n{"customerId":"h-2","balance":1e400}\nnot json\n', { type: 'application/x-ndjson' });
    expect(hostile.status).toBe(422);
    expect(hostile.body.report.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([[1, 'validation_failed'], [2, 'validation_failed'], [3, 'invalid_json']]);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('checks and counts a dry run without changing anything', async () => {
    const before = await counts(t, t.program.id);
    const res = await upload(t, 'customer_id,balance\ndry-1,10\nc-1,5\n', { query: 'dryRun=true' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'dry_run', batchId: null, members: { created: 1, unchanged: 1 }, balances: { applied: 2, points: 15 } });
    expect(await counts(t, t.program.id)).toEqual(before);
  });

  it('refuses a bad header, a JSON body, and another program never sees the import', async () => {
    const header = await upload(t, 'customer_id,points\nx,1\n');
    expect(header.status).toBe(422);
    expect(header.body.report.errors[0]).toMatchObject({ line: 1, message: expect.stringContaining('unknown column "points"') });
    const json = await t.call('POST', '/v1/imports/members', { body: { customerId: 'x' } });
    expect(json.status).toBe(400);
    const other = await t.newProgram();
    const list = await t.call('GET', '/v1/imports', { key: other.key });
    expect(list.body.data).toEqual([]);
    const mine = await t.call('GET', '/v1/imports?limit=1');
    expect((await t.call('GET', `/v1/imports/${mine.body.data[0].id}`, { key: other.key })).status).toBe(404);
  });

  it('streams the import through many small chunks with the same result', async () => {
    const p = await t.newProgram({ wallets: WALLETS });
    const rows = Array.from({ length: 23 }, (_, i) => `k-${i},k${i}@example.com,${i + 1}`);
    const text = `customer_id,email,balance\n${rows.join('\n')}\n`;
    const bytes = Buffer.from(text);
    // Bytes split mid-line (and mid-character would be handled by the decoder too).
    const pieces = [bytes.subarray(0, 7), bytes.subarray(7, 100), bytes.subarray(100)];
    const report = await importMembers(t.db.db, { programId: p.id, actor: 'test', format: 'csv', source: pieces, contentHash: hashText(bytes), chunkRows: 4 });
    expect(report).toMatchObject({ status: 'completed', members: { created: 23 }, balances: { applied: 23, points: (23 * 24) / 2 } });
    await verified(t, p);
  });

  it('reads a file across many turns of the event loop and chunk boundaries, CSV and NDJSON alike', async () => {
    // 1,001 rows: five turns of the event loop while validating (every 200 rows), chunks of 150.
    const n = 1_001;
    const expected = { status: 'completed', rows: { total: n, valid: n, invalid: 0 }, members: { created: n }, balances: { applied: n, points: (n * (n + 1)) / 2 } };
    const p = await t.newProgram({ wallets: WALLETS });
    const csvText = `customer_id,balance\n${Array.from({ length: n }, (_, i) => `t-${i},${i + 1}`).join('\n')}\n`;
    const progress: number[] = [];
    const fromCsv = await importMembers(t.db.db, {
      programId: p.id, actor: 'test', format: 'csv', source: [Buffer.from(csvText)], contentHash: hashText(Buffer.from(csvText)), chunkRows: 150, onProgress: (rows) => progress.push(rows),
    });
    expect(fromCsv).toMatchObject(expected);
    expect(progress.at(-1)).toBe(n);
    const q = await t.newProgram({ wallets: WALLETS });
    const ndjson = `${Array.from({ length: n }, (_, i) => JSON.stringify({ customerId: `t-${i}`, balance: i + 1 })).join('\n')}\n`;
    const fromNdjson = await importMembers(t.db.db, {
      programId: q.id, actor: 'test', format: 'ndjson', source: [Buffer.from(ndjson)], contentHash: hashText(Buffer.from(ndjson)), chunkRows: 150,
    });
    expect(fromNdjson).toMatchObject(expected);
    expect(await counts(t, p.id)).toEqual(await counts(t, q.id));
    await verified(t, p);
    await verified(t, q);
  });

  it('gives the same ledger with the database checking every foreign key row by row', async () => {
    const p = await t.newProgram({ wallets: WALLETS });
    const existing = await t.member({ customerId: 'fk-0' }, p);
    await t.earn(existing.id, 3, {}, p);
    const text = 'customer_id,balance,balance:cashback\nfk-0,4,1\nfk-1,10,\nfk-2,20,2\n';
    const report = await importMembers(t.db.db, { programId: p.id, actor: 'test', format: 'csv', source: [text], contentHash: hashText(text), checkForeignKeys: true });
    expect(report).toMatchObject({ status: 'completed', members: { created: 2 }, balances: { applied: 5, points: 37 } });
    expect((await balanceOf(t, 'fk-0', 'points', p)).balance.available).toBe(7);
    await verified(t, p);
  });

  it('lets only one of two concurrent runs of the same file apply it', async () => {
    const p = await t.newProgram({ wallets: WALLETS });
    const text = 'customer_id,balance\nr-1,10\nr-2,20\n';
    const run = () => importMembers(t.db.db, { programId: p.id, actor: 'test', format: 'csv', source: [text], contentHash: hashText(text) });
    const [a, b] = await Promise.all([run(), run()]);
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect(await counts(t, p.id)).toMatchObject({ members: 2, entries: 2 });
    await verified(t, p);
  });

  it('moves the expiry of every live lot in an inactivity wallet', async () => {
    const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points', expiry: { kind: 'inactivity', count: 30 } }] });
    const m = await t.member({ customerId: 'ina-1' }, p);
    await t.earn(m.id, 5, { expiresAt: new Date(Date.now() + 2 * DAY).toISOString() }, p);
    const res = await upload(t, 'customer_id,balance\nina-1,7\n', { key: p.key });
    expect(res.status).toBe(201);
    const lots = await t.call('GET', `/v1/members/${m.id}/lots`, { key: p.key });
    const expiries = lots.body.data.map((l: { expiresAt: string }) => new Date(l.expiresAt).getTime());
    expect(expiries).toHaveLength(2);
    for (const e of expiries) expect(Math.abs(e - (Date.now() + 30 * DAY))).toBeLessThan(DAY);
    await verified(t, p);
  });
});
