import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp } from '../helpers.ts';
import { iso, ledgerKit, plus } from './ledger-kit.ts';

const statuses = (results: { status: number }[]) => {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
};

describe('ledger under concurrency', async () => {
  const t = await setupTestApp();
  const k = ledgerKit(t);
  const times = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));

  it('50 concurrent spends of 1 against a balance of 10: exactly 10 succeed and the balance ends at 0', async () => {
    const m = await t.member();
    // Three lots, so that the spends also race over which lot to take from.
    for (const amount of [3, 3, 4]) await t.earn(m.id, amount);
    const results = await times(50, () => t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 1 } }));
    expect(statuses(results)).toEqual({ 201: 10, 422: 40 });
    for (const r of results.filter((r) => r.status === 422)) expect(r.body.code).toBe('insufficient_points');
    const available = results.filter((r) => r.status === 201).map((r) => r.body.balance.available).sort((a, b) => a - b);
    expect(available).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await k.balance(m.id)).toMatchObject({ available: 0, reserved: 0, lifetime: { spent: 10 } });
    await k.verify();
  });

  it('50 concurrent reservations of 1 against a balance of 10: exactly 10 hold points', async () => {
    const m = await t.member();
    await t.earn(m.id, 10);
    const results = await times(50, () => t.call('POST', `/v1/members/${m.id}/reservations`, { body: { amount: 1 } }));
    expect(statuses(results)).toEqual({ 201: 10, 422: 40 });
    expect(await k.balance(m.id)).toMatchObject({ available: 0, reserved: 10 });
    // Posting and voiding them concurrently, twice each, resolves each exactly once.
    const ids = results.filter((r) => r.status === 201).map((r) => r.body.reservation.id as string);
    const resolutions = await Promise.all(ids.flatMap((id, i) => [0, 1].map(() => t.call('POST', `/v1/reservations/${id}/${i % 2 ? 'void' : 'post'}`))));
    expect(statuses(resolutions)).toEqual({ 200: 10, 409: 10 });
    expect(await k.balance(m.id)).toMatchObject({ available: 5, reserved: 0, lifetime: { spent: 5 } });
    await k.verify();
  });

  it('concurrent transfers in opposite directions all succeed and conserve points', async () => {
    const [a, b] = [await t.member(), await t.member()];
    await t.earn(a.id, 100);
    await t.earn(b.id, 100);
    const results = await times(40, (i) => t.call('POST', '/v1/transfers', {
      body: i % 2 ? { fromMemberId: a.id, toMemberId: b.id, amount: 3 } : { fromMemberId: b.id, toMemberId: a.id, amount: 2 },
    }));
    expect(statuses(results)).toEqual({ 201: 40 });
    expect((await k.balance(a.id)).available).toBe(100 - 20 * 3 + 20 * 2);
    expect((await k.balance(b.id)).available).toBe(100 - 20 * 2 + 20 * 3);
    await k.verify();
  });

  it('expiry runs safely while spends and refunds run on the same members', async () => {
    t.clock.set('2026-04-01T00:00:00Z');
    const members = await times(4, () => t.member());
    const earns: any[] = [];
    for (const m of members) {
      await t.earn(m.id, 20, { expiresAt: iso(plus(t.clock.current!, DAY)) });
      earns.push(await t.earn(m.id, 20, { pendingUntil: iso(plus(t.clock.current!, DAY)) }));
    }
    t.clock.advance(DAY);
    const work = [
      t.call('POST', '/v1/ledger/maintenance', { body: { batchSize: 1 } }),
      t.call('POST', '/v1/ledger/maintenance'),
      ...members.flatMap((m, i) => [
        t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 5 } }),
        t.call('POST', `/v1/operations/${earns[i].operation.id}/reverse`, { body: { amount: 5 } }),
      ]),
    ];
    const results = await Promise.all(work);
    expect(statuses(results)).toEqual({ 200: 2, 201: 8 });
    for (const m of members) expect(await k.balance(m.id)).toMatchObject({ available: 10, pending: 0, lifetime: { expired: 20 } });
    // Every due lot expired exactly once, whichever transaction got there first.
    const expireEntries = await t.db.db.selectFrom('entries').select(['lot_id', 'amount']).where('kind', '=', 'expire').where('program_id', '=', t.program.id).execute();
    expect(expireEntries.map((e) => e.amount)).toEqual([20, 20, 20, 20]);
    expect(new Set(expireEntries.map((e) => e.lot_id)).size).toBe(4);
    await k.verify();
  });
});
