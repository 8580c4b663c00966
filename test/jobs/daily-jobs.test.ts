import { afterEach, describe, expect, it } from 'vitest';
import { observeBatches, runProgramJob, scheduleDailyRuns, type RunSpec } from '../../src/jobs/lifecycle-jobs.ts';
import { setupTestApp, TestClock, type TestContext, type TestProgram } from '../helpers.ts';

const DAY = 86_400_000;

/** Schedules (without graphile: the runs are collected) and runs the program's daily jobs at `now`. */
async function runDaily(t: TestContext, programId: string, now: Date, only?: string) {
  const runs: RunSpec[] = [];
  await scheduleDailyRuns(t.db.db, { now, staleAfterMs: 60_000, enqueue: async (_trx, run) => void runs.push(run) });
  const mine = runs.filter((r) => r.programId === programId && (!only || r.job === only));
  for (const run of mine) await runProgramJob(t.db.db, run, { clock: () => now });
  return mine;
}

async function eventsOf(t: TestContext, programId: string, type: string) {
  const rows = await t.db.db.selectFrom('events').select(['member_id', 'payload']).where('program_id', '=', programId).where('type', '=', type).orderBy('id').execute();
  return rows.map((r) => r.payload as Record<string, any>);
}

describe('daily lifecycle jobs', async () => {
  const clock = new TestClock(new Date('2030-03-20T00:30:00Z'));
  const t = await setupTestApp({ clock, program: { timeZone: 'Asia/Seoul', wallets: [{ code: 'points', name: 'Points' }, { code: 'cashback', name: 'Cashback', unit: 'currency' }] } });
  afterEach(() => observeBatches({}));

  async function memberWithLots(program: TestProgram, lots: { amount: number; expiresAt: string; wallet?: string }[], extra: Record<string, unknown> = {}) {
    const m = await t.member(extra, program);
    for (const lot of lots) await t.earn(m.id, lot.amount, { expiresAt: lot.expiresAt, wallet: lot.wallet ?? 'points' }, program);
    return m;
  }

  it('reminds of points expiring N days ahead, by last local day, once per window, per wallet settings', async () => {
    const p = t.program;
    await t.call('PATCH', '/v1/lifecycle-settings', { body: { expiringReminders: { daysBefore: [30, 7], wallets: { cashback: { daysBefore: [3] } } } } });
    // Seoul is UTC+9. A lot expiring at local midnight 28 March can be used until 27 March: 7 days left on 20 March.
    const a = await memberWithLots(p, [
      { amount: 100, expiresAt: '2030-03-27T15:00:00Z' },
      { amount: 20, expiresAt: '2030-03-27T15:00:00Z' },
      { amount: 50, expiresAt: '2030-04-15T03:00:00Z' },
      { amount: 9, expiresAt: '2030-05-30T03:00:00Z' },
      { amount: 500, expiresAt: '2030-03-24T03:00:00Z', wallet: 'cashback' },
      { amount: 400, expiresAt: '2030-03-22T03:00:00Z', wallet: 'cashback' },
    ]);
    const blocked = await memberWithLots(p, [{ amount: 70, expiresAt: '2030-03-25T03:00:00Z' }]);
    await t.call('PATCH', `/v1/members/${blocked.id}`, { body: { status: 'blocked' } });
    const spent = await memberWithLots(p, [{ amount: 30, expiresAt: '2030-03-25T03:00:00Z' }]);
    await t.call('POST', `/v1/members/${spent.id}/spend`, { body: { amount: 30 } });

    await runDaily(t, p.id, clock.current!, 'expiring_reminders');
    const first = await eventsOf(t, p.id, 'points.expiring_soon');
    expect(first.map((e) => [e.memberId, e.wallet, e.amount, e.lastDay, e.daysLeft, e.reminderDays])).toEqual([
      [a.id, 'cashback', 400, '2030-03-22', 2, 3],
      [a.id, 'points', 120, '2030-03-27', 7, 7],
      [a.id, 'points', 50, '2030-04-15', 26, 30],
    ]);
    expect(first[1]!.expiresAt).toBe('2030-03-27T15:00:00.000Z');

    // The next days: nothing twice; the cashback lot enters its 3-day window on 21 March.
    clock.set('2030-03-21T00:30:00Z');
    await runDaily(t, p.id, clock.current!, 'expiring_reminders');
    const second = (await eventsOf(t, p.id, 'points.expiring_soon')).slice(first.length);
    expect(second.map((e) => [e.wallet, e.amount, e.lastDay, e.daysLeft, e.reminderDays])).toEqual([['cashback', 500, '2030-03-24', 3, 3]]);

    // 15 April's points reach their 7-day window on 8 April.
    clock.set('2030-04-08T00:30:00Z');
    await runDaily(t, p.id, clock.current!, 'expiring_reminders');
    const third = (await eventsOf(t, p.id, 'points.expiring_soon')).slice(first.length + second.length);
    expect(third.map((e) => [e.amount, e.lastDay, e.daysLeft, e.reminderDays])).toEqual([[50, '2030-04-15', 7, 7]]);
    clock.set('2030-03-20T00:30:00Z');
  });

  it('resumes a run that crashed half-way without reminding anyone twice', async () => {
    const p = await t.newProgram({ timeZone: 'Europe/Paris' });
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await memberWithLots(p, [{ amount: 10 + i, expiresAt: '2030-03-24T12:00:00Z' }]));
    const now = new Date('2030-03-20T09:30:00Z');
    const runs: RunSpec[] = [];
    await scheduleDailyRuns(t.db.db, { now, staleAfterMs: 60_000, enqueue: async (_trx, run) => void runs.push(run) });
    const run = runs.find((r) => r.programId === p.id && r.job === 'expiring_reminders' && r.localDate === '2030-03-20')!;
    expect(run).toBeDefined();

    observeBatches({ batchSize: 2, afterBatch: (job, batch) => {
      if (job === 'expiring_reminders' && batch === 2) throw new Error('worker killed');
    } });
    await expect(runProgramJob(t.db.db, run, { clock: () => now })).rejects.toThrow('worker killed');
    expect(await eventsOf(t, p.id, 'points.expiring_soon')).toHaveLength(4);
    const failed = await t.db.db.selectFrom('scheduled_runs').selectAll().where('program_id', '=', p.id).where('job', '=', 'expiring_reminders').where('local_date', '=', '2030-03-20').executeTakeFirstOrThrow();
    expect(failed.completed_at).toBeNull();
    expect(failed.last_error).toContain('worker killed');

    // The stalled run is picked up again by the scheduler and finishes the rest.
    observeBatches({ batchSize: 2 });
    const again: RunSpec[] = [];
    await scheduleDailyRuns(t.db.db, { now: new Date(now.getTime() + 10 * 60_000), staleAfterMs: 0, enqueue: async (_trx, r) => void again.push(r) });
    expect(again).toContainEqual(run);
    await Promise.all([runProgramJob(t.db.db, run, { clock: () => now }), runProgramJob(t.db.db, run, { clock: () => now })]);
    const events = await eventsOf(t, p.id, 'points.expiring_soon');
    expect(events.map((e) => e.memberId).sort()).toEqual(members.map((m) => m.id).sort());
    const done = await t.db.db.selectFrom('scheduled_runs').selectAll().where('program_id', '=', p.id).where('job', '=', 'expiring_reminders').where('local_date', '=', '2030-03-20').executeTakeFirstOrThrow();
    expect(done.completed_at).not.toBeNull();
    expect(done.runs).toBeGreaterThanOrEqual(2);
    // A completed run is never done again.
    expect(await runProgramJob(t.db.db, run, { clock: () => now })).toEqual({ skipped: true });
  });

  it('celebrates birthdays on the program’s calendar date, with a gift, once a year even when run twice at once', async () => {
    const p = await t.newProgram({ timeZone: 'Pacific/Auckland' });
    const gift = await t.call('PATCH', '/v1/lifecycle-settings', { key: p.key, body: { birthday: { points: 25, wallet: 'points' } } });
    expect(gift.status).toBe(200);
    const today = await t.member({ birthday: '1990-05-01', firstName: 'Today' }, p);
    const yesterday = await t.member({ birthday: '1990-04-30' }, p);
    const leap = await t.member({ birthday: '2000-02-29' }, p);
    const blocked = await t.member({ birthday: '1985-05-01' }, p);
    await t.call('PATCH', `/v1/members/${blocked.id}`, { key: p.key, body: { status: 'blocked' } });

    // 30 April 20:00 UTC is 1 May 08:00 in Auckland (UTC+12): before the 09:00 run time, so only
    // yesterday's run (missed: no worker ran then) is caught up.
    expect((await runDaily(t, p.id, new Date('2030-04-30T20:00:00Z'), 'birthdays')).map((r) => r.localDate)).toEqual(['2030-04-30']);
    expect((await eventsOf(t, p.id, 'member.birthday')).map((e) => [e.memberId, e.date])).toEqual([[yesterday.id, '2030-04-30']]);
    const at = new Date('2030-04-30T21:30:00Z');
    const runs: RunSpec[] = [];
    await scheduleDailyRuns(t.db.db, { now: at, staleAfterMs: 60_000, enqueue: async (_trx, run) => void runs.push(run) });
    const mine = runs.filter((r) => r.programId === p.id && r.job === 'birthdays');
    expect(mine.map((r) => r.localDate)).toEqual(['2030-05-01']);
    // Twice at once (a retried job overlapping the first): one gift.
    await Promise.all([runProgramJob(t.db.db, mine[0]!, { clock: () => at }), runProgramJob(t.db.db, mine[0]!, { clock: () => at })]);
    const events = (await eventsOf(t, p.id, 'member.birthday')).filter((e) => e.date === '2030-05-01');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ memberId: today.id, date: '2030-05-01', birthday: '1990-05-01', reward: { wallet: 'points', amount: 25 } });
    const balance = await t.call('GET', `/v1/members/${today.id}/balances/points`, { key: p.key });
    expect(balance.body.available).toBe(25);
    const op = await t.call('GET', `/v1/operations/${events[0]!.reward.operationId}`, { key: p.key });
    expect(op.body).toMatchObject({ kind: 'earn', amount: 25, reference: { type: 'birthday', id: '2030' }, actor: 'system:birthday' });

    // 29 February birthdays are celebrated on 28 February in other years.
    const feb = new Date('2031-02-27T21:00:00Z');
    await runDaily(t, p.id, feb, 'birthdays');
    expect((await eventsOf(t, p.id, 'member.birthday')).map((e) => [e.memberId, e.date])).toContainEqual([leap.id, '2031-02-28']);
  });

  it('adds the tier’s own birthday gift (points and a catalog reward) once a year', async () => {
    const p = await t.newProgram({ timeZone: 'UTC' });
    const reward = await t.call('POST', '/v1/rewards', { key: p.key, body: { name: 'Birthday mini', code: 'birthday_mini', kind: 'free_shipping', costPoints: 100 } });
    expect(reward.status).toBe(201);
    const ladder = await t.call('PUT', '/v1/tiers', {
      key: p.key,
      body: {
        window: { kind: 'lifetime' },
        tiers: [
          { code: 'base', name: 'Base', thresholds: { points_earned: 0 } },
          { code: 'gold', name: 'Gold', thresholds: { points_earned: 100 }, benefits: { birthdayGift: { points: 250, rewardCode: 'birthday_mini' } } },
        ],
      },
    });
    expect(ladder.status).toBe(200);
    const gold = await t.member({ birthday: '1991-07-04' }, p);
    await t.earn(gold.id, 100, {}, p);
    const plain = await t.member({ birthday: '1991-07-04' }, p);
    const day = new Date('2030-07-04T12:00:00Z');
    await runDaily(t, p.id, day, 'birthdays');
    await runDaily(t, p.id, day, 'birthdays');
    const balance = async (id: string) => (await t.call('GET', `/v1/members/${id}/balances/points`, { key: p.key })).body.available;
    expect(await balance(gold.id)).toBe(100 + 250);
    expect(await balance(plain.id)).toBe(0);
    const vouchers = (await t.call('GET', `/v1/members/${gold.id}/vouchers`, { key: p.key })).body.data;
    expect(vouchers).toHaveLength(1);
    expect((await t.call('GET', `/v1/members/${plain.id}/vouchers`, { key: p.key })).body.data).toHaveLength(0);
  });

  it('flags members who stopped buying: k × their usual interval, or a fixed number of days; once per lapse', async () => {
    const p = await t.newProgram({ timeZone: 'UTC' });
    await t.call('PATCH', '/v1/lifecycle-settings', { key: p.key, body: { atRisk: { multiplier: 3, minPurchases: 3, minDays: 14, fixedDays: 60, maxDays: 365 } } });
    const now = new Date('2030-06-01T12:00:00Z');
    const ago = (days: number) => new Date(now.getTime() - days * DAY);
    const regular = await t.member({}, p);
    const recent = await t.member({}, p);
    const once = await t.member({}, p);
    const churned = await t.member({}, p);
    const hasOrders = await t.db.db.selectFrom('laurel_migrations' as never).select('name' as never).where('name' as never, '=', '0002-orders-rules' as never).executeTakeFirst();
    const purchase = async (memberId: string, at: Date, n: number) => {
      if (hasOrders) {
        await t.db.db.insertInto('orders' as never).values({ program_id: p.id, external_id: `o-${memberId}-${n}`, member_id: memberId, status: 'paid', paid_at: at, placed_at: at } as never).execute();
      } else {
        const res = await t.earn(memberId, 10, { reference: { type: 'order', id: `o-${n}` } }, p);
        await t.db.db.updateTable('operations').set({ created_at: at }).where('id', '=', res.operation.id).execute();
      }
    };
    // Every 10 days, last 31 days ago: lapsed (3 × 10 = 30 days).
    for (const [i, d] of [71, 61, 51, 41, 31].entries()) await purchase(regular.id, ago(d), i);
    // Every 10 days, last 20 days ago: fine.
    for (const [i, d] of [50, 40, 30, 20].entries()) await purchase(recent.id, ago(d), i);
    // One purchase 61 days ago: past the fixed 60 days.
    await purchase(once.id, ago(61), 0);
    // Lapsed beyond a year: churned, left alone.
    await purchase(churned.id, ago(400), 0);

    await runDaily(t, p.id, now, 'at_risk');
    await runDaily(t, p.id, new Date(now.getTime() + DAY), 'at_risk');
    const flagged = await eventsOf(t, p.id, 'member.at_risk');
    expect(flagged.map((e) => e.memberId).sort()).toEqual([regular.id, once.id].sort());
    expect(flagged.find((e) => e.memberId === regular.id)).toMatchObject({
      basis: 'usual_interval', usualIntervalDays: 10, thresholdDays: 30, daysSinceLastPurchase: 31, purchases: 5, lastPurchaseAt: ago(31).toISOString(),
    });
    expect(flagged.find((e) => e.memberId === once.id)).toMatchObject({ basis: 'fixed_days', thresholdDays: 60, purchases: 1 });

    // A new purchase ends the lapse; lapsing again is reported again.
    await purchase(regular.id, new Date(now.getTime() + DAY), 9);
    const later = new Date(now.getTime() + 60 * DAY);
    await runDaily(t, p.id, later, 'at_risk');
    const again = (await eventsOf(t, p.id, 'member.at_risk')).filter((e) => e.memberId === regular.id);
    expect(again).toHaveLength(2);
    expect(again[1]!.lastPurchaseAt).toBe(new Date(now.getTime() + DAY).toISOString());
  });
});
