import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { setupTestApp, TestClock, type TestProgram } from '../helpers.ts';
import { activity, history, putLadder, review, state, tierOf } from './tier-kit.ts';

const SPEND_TIERS = [
  { code: 'member', name: 'Member', thresholds: { net_spend: 0 } },
  { code: 'silver', name: 'Silver', thresholds: { net_spend: 35_000 } },
];

describe('tier windows', async () => {
  const clock = new TestClock(new Date('2025-01-31T15:00:00Z'));
  const t = await setupTestApp({ clock });
  const one = async <T>(query: ReturnType<typeof sql<T>>): Promise<T> => (await query.execute(t.db.db)).rows[0]!;

  it('computes calendar, anniversary and rolling bounds in the program’s time zone', async () => {
    const at = (iso: string) => new Date(iso);
    const cal = await one(sql<{ s: Date; e: Date }>`select
      laurel_tier_window_start('calendar_year', null, 'America/New_York', null, ${at('2026-01-01T04:30:00Z')}) as s,
      laurel_tier_window_end('calendar_year', null, 'America/New_York', null, ${at('2026-01-01T04:30:00Z')}) as e`);
    expect([cal.s.toISOString(), cal.e.toISOString()]).toEqual(['2025-01-01T05:00:00.000Z', '2026-01-01T05:00:00.000Z']);
    const seoul = await one(sql<{ s: Date }>`select laurel_tier_window_start('calendar_year', null, 'Asia/Seoul', null, ${at('2025-12-31T16:00:00Z')}) as s`);
    expect(seoul.s.toISOString()).toBe('2025-12-31T15:00:00.000Z');
    // Enrolled on 29 February 2024 (New York): the anniversary falls on 28 February in other years.
    const enrolled = at('2024-02-29T17:00:00Z');
    const anniv = await one(sql<{ s25: Date; e25: Date; s28: Date }>`select
      laurel_tier_window_start('anniversary', null, 'America/New_York', ${enrolled}, ${at('2025-03-10T12:00:00Z')}) as s25,
      laurel_tier_window_end('anniversary', null, 'America/New_York', ${enrolled}, ${at('2025-03-10T12:00:00Z')}) as e25,
      laurel_tier_window_start('anniversary', null, 'America/New_York', ${enrolled}, ${at('2028-03-10T12:00:00Z')}) as s28`);
    expect([anniv.s25.toISOString(), anniv.e25.toISOString(), anniv.s28.toISOString()]).toEqual(['2025-02-28T05:00:00.000Z', '2026-02-28T05:00:00.000Z', '2028-02-29T05:00:00.000Z']);
    // Rolling months keep the local wall-clock time across daylight saving and clamp month ends.
    const rolling = await one(sql<{ dst: Date; clamp: Date }>`select
      laurel_tier_next_review('rolling_months', 6, 'America/New_York', null, ${at('2025-01-15T17:00:00Z')}) as dst,
      laurel_tier_next_review('rolling_months', 1, 'America/New_York', null, ${at('2025-01-31T15:00:00Z')}) as clamp`);
    expect([rolling.dst.toISOString(), rolling.clamp.toISOString()]).toEqual(['2025-07-15T16:00:00.000Z', '2025-02-28T15:00:00.000Z']);
  });

  it('anniversary windows review on the member’s join anniversary', async () => {
    clock.set('2025-03-10T12:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, { window: { kind: 'anniversary' }, tiers: SPEND_TIERS }, p);
    const m = await t.member({}, p);
    await t.db.db.updateTable('members').set({ enrolled_at: new Date('2024-02-29T17:00:00Z') }).where('id', '=', m.id).execute();
    await activity(t, m.id, { net_spend: 35_000 }, { program: p });
    expect((await state(t, m.id, p)).earned.reviewAt).toBe('2026-02-28T05:00:00.000Z');
    const progress = await t.call('GET', `/v1/members/${m.id}/tier/progress`, { key: p.key });
    expect(progress.body.window).toMatchObject({ kind: 'anniversary', start: '2025-02-28T05:00:00.000Z', end: '2026-02-28T05:00:00.000Z' });
    clock.set('2026-02-28T05:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('silver');
    clock.set('2027-03-01T05:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('member');
  });

  it('rolling windows keep a tier for N months after the activity that reached it', async () => {
    clock.set('2025-01-31T15:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, { window: { kind: 'rolling_months', months: 12 }, tiers: SPEND_TIERS }, p);
    const once = await t.member({}, p);
    const again = await t.member({}, p);
    for (const m of [once, again]) await activity(t, m.id, { net_spend: 35_000 }, { program: p });
    expect((await state(t, once.id, p)).earned.reviewAt).toBe('2026-01-31T15:00:00.000Z');
    clock.set('2025-12-01T15:00:00Z');
    await activity(t, again.id, { net_spend: 35_000 }, { program: p });
    const progress = await t.call('GET', `/v1/members/${once.id}/tier/progress`, { key: p.key });
    expect(progress.body.keep).toMatchObject({ met: false, message: 'Spend $350.00 more by 31 January 2026 to keep Silver.' });
    clock.set('2026-01-31T15:00:00Z');
    await review(t, p);
    // The order that reached Silver does not count a second time.
    expect(await tierOf(t, once.id, p)).toBe('member');
    expect(await tierOf(t, again.id, p)).toBe('silver');
    expect((await state(t, again.id, p)).earned).toMatchObject({ qualifiedAt: '2026-01-31T15:00:00.000Z', reviewAt: '2027-01-31T15:00:00.000Z' });
    clock.set('2027-02-01T00:00:00Z');
    await review(t, p);
    expect(await tierOf(t, again.id, p)).toBe('member');
  });

  it('lifetime windows only move down at the yearly review, after refunds', async () => {
    clock.set('2025-05-01T12:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, { window: { kind: 'lifetime' }, tiers: SPEND_TIERS }, p);
    const m = await t.member({}, p);
    await activity(t, m.id, { net_spend: 20_000 }, { program: p, occurredAt: '2019-05-01T12:00:00Z' });
    await activity(t, m.id, { net_spend: 20_000 }, { program: p, source: { type: 'order.paid', id: 'o-life' }, occurredAt: '2025-05-01T12:00:00Z' });
    expect(await tierOf(t, m.id, p)).toBe('silver');
    clock.set('2026-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('silver');
    clock.set('2026-03-01T12:00:00Z');
    await activity(t, m.id, { net_spend: -20_000 }, { program: p, source: { type: 'order.refund', id: 'r-life' }, occurredAt: '2025-05-01T12:00:00Z' });
    expect(await tierOf(t, m.id, p)).toBe('silver');
    clock.set('2027-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('member');
    expect((await history(t, m.id, p))[0]).toMatchObject({ reason: 'review', direction: 'down' });
  });

  it('counts activity recorded before the ladder existed once a ladder is configured', async () => {
    clock.set('2025-05-01T12:00:00Z');
    const p: TestProgram = await t.newProgram();
    const m = await t.member({}, p);
    const early = await t.call('POST', `/v1/members/${m.id}/tier/activity`, { key: p.key, body: { amounts: { net_spend: 30_000 }, source: { type: 'order.paid', id: 'pre' } } });
    expect(early.body).toMatchObject({ recorded: true, changes: [], tier: null });
    await putLadder(t, { window: { kind: 'calendar_year' }, tiers: SPEND_TIERS }, p);
    const crossing = await activity(t, m.id, { net_spend: 5_000 }, { program: p });
    expect(crossing.changes[0]).toMatchObject({ from: 'member', to: 'silver' });
  });
});
