import { sql } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { hashText } from '../../src/imports/import-source.ts';
import { importMembers } from '../../src/imports/member-import.ts';
import { runDueMaintenance } from '../../src/ledger/ledger-maintenance.ts';
import { DAY, setupTestApp, type TestProgram } from '../helpers.ts';
import { iso, ledgerKit, plus } from './ledger-kit.ts';

describe('ledger maintenance and verification', async () => {
  const t = await setupTestApp();
  const k = ledgerKit(t);
  const maintain = async (p: TestProgram, body?: unknown) => k.expectStatus(await t.call('POST', '/v1/ledger/maintenance', { key: p.key, body }), 200);
  const earn = (p: TestProgram, memberId: string, body: Record<string, unknown>) => k.post(`/v1/members/${memberId}/earn`, { pendingUntil: null, ...body }, 201, p);
  /** Expired points per member straight from the entries, so that no read settles anything first. */
  const expiredInDb = async (p: TestProgram) => {
    const { rows } = await sql<{ member_id: string; total: number }>`
      select member_id, sum(amount)::bigint as total from entries where program_id = ${p.id} and kind = 'expire' group by 1`.execute(t.db.db);
    return Object.fromEntries(rows.map((r) => [r.member_id, r.total]));
  };

  it('vests, times out and expires everything due, in batches; a second run finds nothing', async () => {
    t.clock.set('2026-03-02T12:00:00Z');
    const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points', expiry: { kind: 'days_after_earn', count: 30 } }] });
    const members = [];
    for (let i = 0; i < 5; i++) {
      const m = await t.member({}, p);
      await earn(p, m.id, { amount: 10 });
      members.push(m);
    }
    await earn(p, members[0].id, { amount: 5, pendingUntil: iso(plus(t.clock.current!, 10 * DAY)) });
    const { reservation } = await k.post(`/v1/members/${members[1].id}/reservations`, { amount: 4, timeoutMs: 60_000 }, 201, p);
    t.clock.advance(31 * DAY);
    expect(await expiredInDb(p)).toEqual({});

    expect(await maintain(p, { batchSize: 2 })).toEqual({ members: 5, lotsExpired: 6, pointsExpired: 55 });
    expect(await expiredInDb(p)).toEqual(Object.fromEntries(members.map((m, i) => [m.id, i === 0 ? 15 : 10])));
    const held = await t.db.db.selectFrom('reservations').select('status').where('id', '=', reservation.id).executeTakeFirstOrThrow();
    expect(held.status).toBe('expired');
    expect(await maintain(p)).toEqual({ members: 0, lotsExpired: 0, pointsExpired: 0 });
    for (const m of members) expect(await k.balance(m.id, 'points', p)).toMatchObject({ available: 0, pending: 0, reserved: 0 });
    await k.verify(p);
  });

  /** `count` members e-0… holding i + 1 points each, all expiring at `expiresAt`, through the importer. */
  const membersExpiringAt = async (p: TestProgram, count: number, expiresAt: Date) => {
    const text = `customer_id,balance,expires_at\n${Array.from({ length: count }, (_, i) => `e-${i},${i + 1},${expiresAt.toISOString()}`).join('\n')}\n`;
    const report = await importMembers(t.db.db, { programId: p.id, actor: 'test', format: 'csv', source: [text], contentHash: hashText(text), clock: t.clock.now });
    expect(report).toMatchObject({ status: 'completed', balances: { applied: count } });
  };
  /** Per lot, how many expire entries it has; per member, how many points.expired events. */
  const expiryCounts = async (p: TestProgram) => {
    const { rows: lots } = await sql<{ n: number }>`
      select count(e.id)::int as n from lots l left join entries e on e.lot_id = l.id and e.kind = 'expire' where l.program_id = ${p.id} group by l.id`.execute(t.db.db);
    const { rows: events } = await sql<{ n: number }>`
      select count(*)::int as n from events where program_id = ${p.id} and type = 'points.expired' group by member_id`.execute(t.db.db);
    return { lots: lots.map((r) => r.n), events: events.map((r) => r.n) };
  };

  it('steps over members locked by a running operation, expires the others, and picks the locked ones up later', async () => {
    t.clock.set('2026-03-02T12:00:00Z');
    const p = await t.newProgram();
    await membersExpiringAt(p, 10, plus(t.clock.current!, DAY));
    t.clock.advance(2 * DAY);
    // Three members' wallets held as a checkout holds them, the soonest-due lots among them.
    const locked = ['e-0', 'e-1', 'e-2'];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => (holding = resolve));
    const lock = t.db.db.transaction().execute(async (trx) => {
      await sql`select mw.id from member_wallets mw join members m on m.id = mw.member_id
                where m.program_id = ${p.id} and m.customer_id = any(${locked}::text[]) for update of mw`.execute(trx);
      holding();
      await held;
    });
    await holds;
    try {
      // Batches of 2: the first ones meet the locked wallets first and must walk past them.
      expect(await maintain(p, { batchSize: 2 })).toEqual({ members: 7, lotsExpired: 7, pointsExpired: 55 - 6 });
    } finally {
      release();
      await lock;
    }
    expect(await maintain(p, { batchSize: 2 })).toEqual({ members: 3, lotsExpired: 3, pointsExpired: 6 });
    expect(await maintain(p)).toEqual({ members: 0, lotsExpired: 0, pointsExpired: 0 });
    expect(await expiryCounts(p)).toEqual({ lots: Array(10).fill(1), events: Array(10).fill(1) });
    await k.verify(p);
  });

  it('expires a large set exactly once under concurrent runs of several workers each', async () => {
    t.clock.set('2026-03-02T12:00:00Z');
    const p = await t.newProgram();
    const count = 600;
    await membersExpiringAt(p, count, plus(t.clock.current!, DAY));
    t.clock.advance(2 * DAY);
    const run = () => runDueMaintenance(t.db.db, { programId: p.id, batchSize: 37, workers: 3, clock: t.clock.now });
    const results = await Promise.all([run(), run(), run()]);
    expect(results.reduce((sum, r) => sum + r.lotsExpired, 0)).toBe(count);
    expect(results.reduce((sum, r) => sum + r.pointsExpired, 0)).toBe((count * (count + 1)) / 2);
    expect(await run()).toEqual({ members: 0, lotsExpired: 0, pointsExpired: 0 });
    expect(await expiryCounts(p)).toEqual({ lots: Array(count).fill(1), events: Array(count).fill(1) });
    await k.verify(p);
  });

  it('expiring a whole import updates every balance and wallet counter in place, on its own page (no index entry written)', async () => {
    t.clock.set('2026-03-02T12:00:00Z');
    const p = await t.newProgram();
    const count = 400;
    await membersExpiringAt(p, count, plus(t.clock.current!, DAY));
    // A row version written on another page is a new entry in every index of its table; one on
    // the same page, with no indexed column changed, is a heap-only update. Tables filled by an
    // import leave no room unless their fillfactor reserves it (migration 0011).
    const pages = async () => {
      const { rows } = await sql<{ id: string; page: string }>`
        select 'mw' || mw.id as id, (mw.ctid::text::point)[0]::text as page from member_wallets mw where mw.program_id = ${p.id}
        union all
        select 'a' || a.id, (a.ctid::text::point)[0]::text from accounts a where a.program_id = ${p.id} and a.kind = 'available'`.execute(t.db.db);
      return Object.fromEntries(rows.map((r) => [r.id, r.page]));
    };
    const before = await pages();
    expect(Object.keys(before)).toHaveLength(2 * count);
    t.clock.advance(2 * DAY);
    expect(await runDueMaintenance(t.db.db, { programId: p.id, clock: t.clock.now })).toMatchObject({ lotsExpired: count });
    const { rows: changed } = await sql<{ n: number }>`
      select count(*)::int as n from member_wallets where program_id = ${p.id} and expired > 0`.execute(t.db.db);
    expect(changed[0]!.n).toBe(count);
    expect(await pages()).toEqual(before);
  });

  it('inactivity: every earn or spend moves the expiry of all live lots; an inactive member’s points expire', async () => {
    t.clock.set('2026-03-02T12:00:00Z');
    const start = t.clock.current!;
    const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points', expiry: { kind: 'inactivity', count: 30 } }] });
    const [active, idle] = [await t.member({}, p), await t.member({}, p)];
    expect((await earn(p, active.id, { amount: 100 })).lot.expiresAt).toBe(iso(plus(start, 30 * DAY)));
    await earn(p, idle.id, { amount: 100 });
    t.clock.advance(20 * DAY);
    await k.post(`/v1/members/${active.id}/spend`, { amount: 10 }, 201, p);
    expect((await k.lots(active.id, '', p)).map((l) => l.expiresAt)).toEqual([iso(plus(start, 50 * DAY))]);
    t.clock.set(plus(start, 50 * DAY - 1));
    expect(await maintain(p)).toMatchObject({ lotsExpired: 1, pointsExpired: 100 });
    expect(await expiredInDb(p)).toEqual({ [idle.id]: 100 });
    t.clock.set(plus(start, 50 * DAY));
    expect(await maintain(p)).toMatchObject({ lotsExpired: 1, pointsExpired: 90 });
    await k.verify(p);
  });

  it('inactivity: points refunded into a lot a spend emptied live as long as the member stays active', async () => {
    t.clock.set('2026-03-02T12:00:00Z');
    const start = t.clock.current!;
    const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points', expiry: { kind: 'inactivity', count: 30 } }] });
    const m = await t.member({}, p);
    await earn(p, m.id, { amount: 100 });
    const s = await k.post(`/v1/members/${m.id}/spend`, { amount: 100 }, 201, p);
    t.clock.set(plus(start, 25 * DAY));
    await earn(p, m.id, { amount: 1 });
    t.clock.set(plus(start, 40 * DAY)); // past the emptied lot's old expiry, within 30 days of the last earn
    expect((await k.post(`/v1/operations/${s.operation.id}/restore`, undefined, 201, p)).balance.available).toBe(101);
    expect((await k.lots(m.id, '', p)).map((l) => [l.remaining, l.expiresAt])).toEqual([[100, iso(plus(start, 55 * DAY))], [1, iso(plus(start, 55 * DAY))]]);
    t.clock.set(plus(start, 55 * DAY));
    expect(await maintain(p)).toMatchObject({ lotsExpired: 2, pointsExpired: 101 });
    await k.verify(p);
  });

  it('end_of_month: the month ends at midnight in the program’s time zone, not the server’s', async () => {
    const p = await t.newProgram({ timeZone: 'Asia/Seoul', wallets: [{ code: 'points', name: 'Points', expiry: { kind: 'end_of_month', count: 0 } }] });
    const [january, february] = [await t.member({}, p), await t.member({}, p)];
    t.clock.set('2026-01-31T14:30:00Z'); // 23:30 on 31 January in Seoul
    expect((await earn(p, january.id, { amount: 10 })).lot.expiresAt).toBe('2026-01-31T15:00:00.000Z');
    t.clock.set('2026-01-31T15:30:00Z'); // 00:30 on 1 February in Seoul
    expect((await earn(p, february.id, { amount: 20 })).lot.expiresAt).toBe('2026-02-28T15:00:00.000Z');
    t.clock.set('2026-02-28T14:59:59.999Z');
    expect(await maintain(p)).toMatchObject({ lotsExpired: 1, pointsExpired: 10 });
    expect(await expiredInDb(p)).toEqual({ [january.id]: 10 });
    t.clock.set('2026-02-28T15:00:00Z');
    expect(await maintain(p)).toMatchObject({ lotsExpired: 1, pointsExpired: 20 });
    await k.verify(p);
  });

  it('verify reports each discrepancy, and entries cannot be changed', async () => {
    t.clock.set('2026-06-01T00:00:00Z');
    const p = await t.newProgram();
    const m = await t.member({}, p);
    const e = await earn(p, m.id, { amount: 100 });
    await k.post(`/v1/members/${m.id}/spend`, { amount: 30 }, 201, p);
    const report = await k.verify(p);
    expect(report.checks.map((c: any) => c.name)).toEqual([
      'balances_match_entries', 'program_sums_to_zero', 'lots_match_entries', 'buckets_match_lots', 'counters_match_entries',
      'transfers_clear', 'allocations_consistent', 'allocations_cover_refunds', 'refunds_within_operations', 'rows_in_program', 'entries_immutable',
    ]);
    expect(report.totals).toMatchObject({ availablePositive: 70, negativeBalances: 0, pending: 0, reserved: 0, entries: 2, lots: 1 });

    const failing = async () => {
      const res = await t.call('GET', '/v1/ledger/verify', { key: p.key });
      expect(res.body.ok).toBe(false);
      return Object.fromEntries(res.body.checks.filter((c: any) => !c.ok).map((c: any) => [c.name, c.discrepancies]));
    };
    await sql`update accounts set balance = balance + 5 where member_id = ${m.id} and kind = 'available'`.execute(t.db.db);
    const broken = await failing();
    expect(Object.keys(broken)).toEqual(['balances_match_entries', 'program_sums_to_zero', 'buckets_match_lots']);
    expect(broken.balances_match_entries).toEqual([expect.objectContaining({ memberId: m.id, kind: 'available', cached: 75, computed: 70 })]);
    await sql`update accounts set balance = balance - 5 where member_id = ${m.id} and kind = 'available'`.execute(t.db.db);

    await sql`update lots set remaining = 71 where id = ${Number(e.lot.id)}`.execute(t.db.db);
    expect(Object.keys(await failing())).toEqual(['lots_match_entries', 'buckets_match_lots']);
    await sql`update lots set remaining = 70 where id = ${Number(e.lot.id)}`.execute(t.db.db);

    /** Runs fn on a connection with foreign-key checks and triggers off, as a bulk path may write (replica). */
    const withChecksOff = async <T,>(fn: (session: pg.PoolClient) => Promise<T>): Promise<T> => {
      const session = await t.db.pool.connect();
      try {
        await session.query('set session_replication_role = replica');
        return await fn(session);
      } finally {
        await session.query('set session_replication_role = origin');
        session.release();
      }
    };
    // An operation naming another program's member.
    const stranger = await t.member();
    const strayId = await withChecksOff(async (session) => (await session.query(
      `insert into operations (program_id, wallet_id, member_id, kind, amount, actor)
       select program_id, wallet_id, $1, 'earn', 0, 'test' from operations where id = $2 returning id`, [stranger.id, e.operation.id])).rows[0].id as string);
    expect(await failing()).toEqual({ rows_in_program: [expect.objectContaining({ row: 'operation', id: strayId, memberId: stranger.id })] });
    await sql`delete from operations where id = ${strayId}`.execute(t.db.db);
    // A transfer whose counterpart is another program's member, and a lot of another program's member.
    const transferId = await withChecksOff(async (session) => (await session.query(
      `insert into operations (program_id, wallet_id, member_id, counterpart_member_id, kind, amount, actor)
       select program_id, wallet_id, member_id, $1, 'transfer', 0, 'test' from operations where id = $2 returning id`, [stranger.id, e.operation.id])).rows[0].id as string);
    const strayLot = await withChecksOff(async (session) => String((await session.query(
      `insert into lots (program_id, wallet_id, member_id, operation_id, amount, remaining, vested)
       select program_id, wallet_id, $1, id, 1, 0, true from operations where id = $2 returning id`, [stranger.id, e.operation.id])).rows[0].id));
    expect(await failing()).toEqual({ rows_in_program: expect.arrayContaining([
      expect.objectContaining({ row: 'operation', id: transferId, memberId: m.id }),
      expect.objectContaining({ row: 'lot', id: strayLot, memberId: stranger.id }),
    ]) });
    expect((await failing()).rows_in_program).toHaveLength(2);
    await sql`delete from lots where id = ${Number(strayLot)}`.execute(t.db.db);
    await sql`delete from operations where id = ${transferId}`.execute(t.db.db);
    // An entry crediting an account of another program (neither the immutability trigger nor the references fire).
    const { id: entryId, credit_account_id: creditId } = (await sql<{ id: number; credit_account_id: number }>`
      select id, credit_account_id from entries where operation_id = ${e.operation.id}`.execute(t.db.db)).rows[0]!;
    await withChecksOff((session) => session.query(
      `update entries set credit_account_id = (select id from accounts where program_id = $1 and kind = 'issued' limit 1) where id = $2`, [t.program.id, entryId]));
    try {
      expect((await failing()).rows_in_program).toEqual([expect.objectContaining({ row: 'entry', id: String(entryId) })]);
    } finally {
      await withChecksOff((session) => session.query(`update entries set credit_account_id = $1 where id = $2`, [creditId, entryId]));
    }
    await k.verify(p);

    await expect(sql`update entries set amount = 1 where program_id = ${p.id}`.execute(t.db.db)).rejects.toThrow(/immutable/);
    await expect(sql`delete from entries where program_id = ${p.id}`.execute(t.db.db)).rejects.toThrow(/immutable/);
    await sql`alter table entries disable trigger entries_immutable`.execute(t.db.db);
    try {
      expect(await failing()).toEqual({ entries_immutable: [{ trigger: 'entries_immutable' }] });
    } finally {
      await sql`alter table entries enable trigger entries_immutable`.execute(t.db.db);
    }
    await k.verify(p);
  });
});
