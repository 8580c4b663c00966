import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { buildApp } from '../../src/http/app.ts';
import { hashText } from '../../src/imports/import-source.ts';
import { importMembers } from '../../src/imports/member-import.ts';
import { loadConfig } from '../../src/config.ts';
import { DAY, setupTestApp, statementCounter } from '../helpers.ts';

/**
 * Group reads (docs/architecture.md, "Group reads"): concurrent balance reads of a program share
 * one statement, and each answer is the one the read would have had alone — a missing member,
 * another program's member, a member with something due, the same member twice.
 */
describe('balance reads under group reads', async () => {
  const t = await setupTestApp();
  const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
  const statements = statementCounter(t.db.pool);
  // The same database through an app that reads every balance with a statement of its own.
  const alone = await buildApp({ db: t.db.db, config: loadConfig({ databaseUrl: t.db.url, rateLimitPerMinute: 1_000_000, readBatches: 0 }), clock: t.clock.now, logger: false });
  const readAlone = async (url: string, key = t.program.key) => {
    const res = await alone.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    return { status: res.statusCode, body: res.json() };
  };
  afterAll(() => alone.close());
  /** Status and body, without the problem's request id (each request has its own). */
  const answer = (r: { status: number; body: any }) => ({ status: r.status, body: r.body?.requestId ? { ...r.body, requestId: undefined } : r.body });
  const p = await t.newProgram({
    wallets: [
      { code: 'points', name: 'Points', expiry: { kind: 'days_after_earn', count: 30 } },
      { code: 'cashback', name: 'Cashback', unit: 'currency' },
    ],
  });
  const as = { key: p.key };

  it('40 concurrent reads of 8 members in two wallets share statements; each answer equals the read alone', async () => {
    t.clock.set('2026-05-01T10:00:00Z');
    const members = await times(8, () => t.member({}, p));
    for (const [i, m] of members.entries()) {
      for (let j = 0; j <= i; j++) await t.earn(m.id, 10 * (i + 1) + j, {}, p);
      if (i % 2 === 0) await t.call('POST', `/v1/members/${m.id}/earn`, { body: { amount: i + 3, wallet: 'cashback', pendingUntil: null }, ...as });
      if (i % 3 === 0) await t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 5 }, ...as });
    }
    const urls = Array.from({ length: 40 }, (_, i) => `/v1/members/${members[i % 8].id}/balances${i % 5 === 0 ? '' : `/${i % 2 === 0 ? 'cashback' : 'points'}`}`);
    const expected = [];
    for (const url of urls) expected.push(answer(await readAlone(url, p.key)));
    expect(expected.every((r) => r.status === 200)).toBe(true);
    statements.count = 0;
    const together = await times(40, (i) => t.call('GET', urls[i]!, as));
    expect(together.map(answer)).toEqual(expected);
    // Alone, each read is a statement; shared, at most a few for all forty.
    expect(statements.count).toBeLessThan(20);
    expect(together[1]!.body).toMatchObject({ wallet: 'points', available: 41, nextExpirations: [{ amount: 41 }] });
    expect(together[0]!.body.data.map((b: { wallet: string; available: number }) => [b.wallet, b.available])).toEqual([['points', 5], ['cashback', 3]]);
  });

  it('a batch mixing missing members, another program’s member, an unknown wallet and repeats answers each read as alone', async () => {
    const [m1, m2] = await times(2, () => t.member({}, p));
    await t.earn(m1.id, 40, {}, p);
    const stranger = await t.member();
    await t.earn(stranger.id, 9);
    const urls = [
      `/v1/members/${m1.id}/balances/points`,
      `/v1/members/${randomUUID()}/balances/points`,
      `/v1/members/${stranger.id}/balances/points`,
      `/v1/members/${m1.id}/balances/points`,
      `/v1/members/${m2.id}/balances/nope`,
      `/v1/members/${m2.id}/balances`,
      `/v1/members/${m1.id}/balances/cashback`,
    ];
    const expected = [];
    for (const url of urls) expected.push(answer(await readAlone(url, p.key)));
    expect(expected.map((r) => r.status)).toEqual([200, 404, 404, 200, 404, 200, 200]);
    expect(expected.map((r) => r.body.code)).toEqual([undefined, 'member_not_found', 'member_not_found', undefined, 'wallet_not_found', undefined, undefined]);
    for (let round = 0; round < 3; round++) {
      const together = await Promise.all(urls.map((url) => t.call('GET', url, as)));
      expect(together.map(answer)).toEqual(expected);
      expect(together[1]!.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    // The stranger's own program still reads it.
    expect((await t.call('GET', `/v1/members/${stranger.id}/balances/points`)).body.available).toBe(9);
  });

  it('a member with something due in a shared read is settled first: its answer shows the expiry and the vesting, the others are untouched', async () => {
    t.clock.set('2026-06-01T10:00:00Z');
    const [due, pending, quiet] = await times(3, () => t.member({}, p));
    await t.earn(due.id, 25, {}, p);
    t.clock.advance(20 * DAY);
    await t.earn(quiet.id, 7, {}, p);
    t.clock.advance(5 * DAY);
    await t.earn(pending.id, 12, { pendingUntil: new Date(t.clock.current!.getTime() + 2 * DAY).toISOString() }, p);
    t.clock.advance(6 * DAY);
    const results = await times(12, (i) => t.call('GET', `/v1/members/${[due, pending, quiet][i % 3].id}/balances/points`, as));
    expect(results.every((r) => r.status === 200)).toBe(true);
    for (const [i, r] of results.entries()) {
      if (i % 3 === 0) expect(r.body).toMatchObject({ available: 0, pending: 0, lifetime: { earned: 25, expired: 25 } });
      if (i % 3 === 1) expect(r.body).toMatchObject({ available: 12, pending: 0, lifetime: { earned: 12, expired: 0 } });
      if (i % 3 === 2) expect(r.body).toMatchObject({ available: 7, pending: 0, lifetime: { earned: 7, expired: 0 } });
    }
    const expiries = await t.db.db.selectFrom('entries').select('member_id').where('program_id', '=', p.id).where('kind', '=', 'expire').where('member_id', 'in', [due.id, pending.id, quiet.id]).execute();
    expect(expiries.map((e) => e.member_id)).toEqual([due.id]);
    const vests = await t.db.db.selectFrom('entries').select('member_id').where('program_id', '=', p.id).where('kind', '=', 'vest').where('member_id', 'in', [due.id, pending.id, quiet.id]).execute();
    expect(vests.map((e) => e.member_id)).toEqual([pending.id]);
    const verify = await t.call('GET', '/v1/ledger/verify', as);
    expect(verify.body.ok).toBe(true);
  });

  it('a read sent after an earn was answered sees it, even while other reads of the member are in flight', async () => {
    const m = await t.member({}, p);
    await t.earn(m.id, 3, {}, p);
    const reads = Array.from({ length: 10 }, () => t.call('GET', `/v1/members/${m.id}/balances/points`, as));
    await t.earn(m.id, 4, {}, p);
    const after = await t.call('GET', `/v1/members/${m.id}/balances/points`, as);
    expect(after.body.available).toBe(7);
    for (const r of await Promise.all(reads)) expect([3, 7]).toContain(r.body.available);
  });

  /**
   * Buffers a member's balance read and wallet lock touch (EXPLAIN ANALYZE counts their functions'
   * own queries too), on one connection, the fewest of three runs: a run that plans anew also
   * reads the catalogs.
   */
  const touched = (memberId: string, at: Date) => t.db.db.connection().execute(async (conn) => {
    const fewest = async (statement: ReturnType<typeof sql>) => {
      let least = Infinity;
      for (let i = 0; i < 3; i++) {
        const { rows } = await sql<{ 'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }>`explain (analyze, buffers, format json) ${statement}`.execute(conn);
        const plan = rows[0]!['QUERY PLAN'][0].Plan;
        least = Math.min(least, plan['Shared Hit Blocks'] + plan['Shared Read Blocks']);
      }
      return least;
    };
    return {
      read: await fewest(sql`select * from laurel_balance_snapshots(${p.id}::uuid, ${[memberId]}::uuid[], ${at}::timestamptz)`),
      lock: await fewest(sql`select * from laurel_lock_member_wallets(${p.id}::uuid, ${[memberId]}::uuid[], ${['points']}::text[], ${at}::timestamptz)`),
    };
  });

  it('a backlog of other members’ lots waiting to vest is not walked by a member’s read or wallet lock', async () => {
    t.clock.set('2026-08-01T10:00:00Z');
    const m = await t.member({}, p);
    await t.earn(m.id, 5, {}, p);
    // Another program's 3,000 lots, pending until tomorrow; then due an hour ago and not vested, as
    // when the worker has not run. The tables are the same size in both measures: only the due
    // backlog differs.
    const backlog = await t.newProgram();
    const text = `customer_id,balance\n${Array.from({ length: 3000 }, (_, i) => `b-${i},${i + 1}`).join('\n')}\n`;
    const report = await importMembers(t.db.db, { programId: backlog.id, actor: 'test', format: 'csv', source: [text], contentHash: hashText(text), clock: t.clock.now });
    expect(report).toMatchObject({ status: 'completed', balances: { applied: 3000 } });
    const vestAt = async (offsetMs: number) => {
      const moved = await sql`update lots set vested = false, vests_at = ${new Date(t.clock.current!.getTime() + offsetMs)} where program_id = ${backlog.id}`.execute(t.db.db);
      expect(Number(moved.numAffectedRows)).toBe(3000);
      await sql`analyze lots`.execute(t.db.db);
      return touched(m.id, t.clock.current!);
    };
    const before = await vestAt(86_400_000);
    const after = await vestAt(-3_600_000);
    // Walking the backlog through lots_due_vesting would touch a buffer per lot: thousands.
    expect(after.read).toBeLessThanOrEqual(before.read + 50);
    expect(after.lock).toBeLessThanOrEqual(before.lock + 50);
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`, as)).body.available).toBe(5);
  });
});
