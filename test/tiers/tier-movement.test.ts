import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setupTestApp, TestClock, type TestProgram } from '../helpers.ts';
import { activity, events, history, ladder, putLadder, review, state, tierOf } from './tier-kit.ts';

describe('tier movement', async () => {
  const clock = new TestClock(new Date('2025-03-01T17:00:00Z'));
  const t = await setupTestApp({ clock });

  async function program(overrides: Record<string, unknown> = {}): Promise<TestProgram> {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, ladder(overrides), p);
    return p;
  }
  const member = (p: TestProgram) => t.member({}, p);

  it('upgrades in the transaction of the activity that crosses the threshold, once, with history, event and entry reward', async () => {
    const p = await program();
    const m = await member(p);
    expect(await tierOf(t, m.id, p)).toBe('insider');
    const below = await activity(t, m.id, { net_spend: 34_999, orders: 1 }, { program: p });
    expect(below.changes).toEqual([]);
    expect(below.tier.code).toBe('insider');
    const crossing = await activity(t, m.id, { net_spend: 1, orders: 1 }, { program: p });
    expect(crossing.changes).toEqual([{ memberId: m.id, from: 'insider', to: 'vib', direction: 'up', reason: 'qualified' }]);
    expect(crossing.tier).toMatchObject({ code: 'vib', source: 'earned', earnMultiplierBp: 15_000 });
    const changed = await events(t, p.id, 'tier.changed', m.id);
    expect(changed.map((e) => e.payload)).toEqual([expect.objectContaining({ from: 'insider', to: 'vib', direction: 'up', reason: 'qualified' })]);
    expect((await history(t, m.id, p)).map((h) => [h.from, h.to, h.reason])).toEqual([['insider', 'vib', 'qualified']]);
    // The entry reward of VIB: 500 points, once.
    const balance = await t.call('GET', `/v1/members/${m.id}/balances/points`, { key: p.key });
    expect(balance.body.available).toBe(500);
    await activity(t, m.id, { net_spend: 70_000 }, { program: p });
    expect(await tierOf(t, m.id, p)).toBe('rouge');
    expect((await t.call('GET', `/v1/members/${m.id}/balances/points`, { key: p.key })).body.available).toBe(500);
  });

  it('is idempotent by source: a replay changes nothing, a conflicting replay is refused', async () => {
    const p = await program();
    const m = await member(p);
    const source = { type: 'order.paid', id: `o-${randomUUID()}` };
    const occurredAt = '2025-03-01T10:00:00.000Z';
    const first = await activity(t, m.id, { net_spend: 40_000 }, { program: p, source, occurredAt });
    expect(first.recorded).toBe(true);
    const again = await activity(t, m.id, { net_spend: 40_000 }, { program: p, source, occurredAt });
    expect(again).toMatchObject({ recorded: false, changes: [] });
    const conflict = await activity(t, m.id, { net_spend: 50_000 }, { program: p, source, occurredAt, expectStatus: 409 });
    expect(conflict.code).toBe('tier_activity_conflict');
    const progress = await t.call('GET', `/v1/members/${m.id}/tier/progress`, { key: p.key });
    expect(progress.body.metrics).toEqual([{ metric: 'net_spend', value: 40_000, formatted: '$400.00' }]);
    expect(await history(t, m.id, p)).toHaveLength(1);
  });

  it('does not upgrade on an order refunded before its payment arrives (out of order)', async () => {
    const p = await program();
    const m = await member(p);
    const orderAt = '2025-03-01T10:00:00.000Z';
    await activity(t, m.id, { net_spend: -40_000, orders: -1 }, { program: p, source: { type: 'order.cancelled', id: 'o-1' }, occurredAt: orderAt });
    const paid = await activity(t, m.id, { net_spend: 40_000, orders: 1 }, { program: p, source: { type: 'order.paid', id: 'o-1' }, occurredAt: orderAt });
    expect(paid.changes).toEqual([]);
    expect(await tierOf(t, m.id, p)).toBe('insider');
  });

  it('a refund waits for the review by default, and the review does not count the refunded order', async () => {
    const p = await program();
    const m = await member(p);
    const orderAt = '2025-03-01T10:00:00.000Z';
    await activity(t, m.id, { net_spend: 40_000 }, { program: p, source: { type: 'order.paid', id: 'o-2' }, occurredAt: orderAt });
    expect(await tierOf(t, m.id, p)).toBe('vib');
    clock.set('2025-04-01T12:00:00Z');
    const refund = await activity(t, m.id, { net_spend: -40_000 }, { program: p, source: { type: 'order.refund', id: 'r-2' }, occurredAt: orderAt });
    expect(refund.changes).toEqual([]);
    expect(await tierOf(t, m.id, p)).toBe('vib');
    const progress = await t.call('GET', `/v1/members/${m.id}/tier/progress`, { key: p.key });
    expect(progress.body.keep).toMatchObject({ met: false, message: 'Spend $350.00 more by 31 December 2025 to keep VIB.' });
    // The review at local midnight on 1 January 2026 judges 2025, where the order no longer counts.
    clock.set('2026-01-01T05:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('insider');
    expect((await history(t, m.id, p)).map((h) => h.reason)).toEqual(['review', 'qualified']);
  });

  it('with refunds: "immediate", a refund that undoes the qualification downgrades at once', async () => {
    const p = await program({ refunds: 'immediate' });
    const m = await member(p);
    const orderAt = '2025-03-01T10:00:00.000Z';
    await activity(t, m.id, { net_spend: 110_000 }, { program: p, source: { type: 'order.paid', id: 'o-3' }, occurredAt: orderAt });
    expect(await tierOf(t, m.id, p)).toBe('rouge');
    const partial = await activity(t, m.id, { net_spend: -20_000 }, { program: p, source: { type: 'order.refund', id: 'r-3a' }, occurredAt: orderAt });
    expect(partial.changes).toEqual([{ memberId: m.id, from: 'rouge', to: 'vib', direction: 'down', reason: 'refund' }]);
    await activity(t, m.id, { net_spend: -90_000 }, { program: p, source: { type: 'order.refund', id: 'r-3b' }, occurredAt: orderAt });
    expect(await tierOf(t, m.id, p)).toBe('insider');
    expect((await state(t, m.id, p)).earned.reviewAt).toBeNull();
  });

  it('downgrades only at the review, judging the window that ended at the scheduled review date', async () => {
    const p = await program();
    const m = await member(p);
    await activity(t, m.id, { net_spend: 40_000 }, { program: p });
    clock.set('2025-12-31T23:00:00Z');
    expect((await review(t, p)).members).toBe(0);
    // 2025 qualified VIB: kept through 2026.
    clock.set('2026-01-01T06:00:00Z');
    expect(await review(t, p)).toMatchObject({ members: 1, reviewed: 1, downgraded: 0 });
    expect((await state(t, m.id, p)).earned).toMatchObject({ reviewAt: '2027-01-01T05:00:00.000Z', lastReviewAt: '2026-01-01T05:00:00.000Z' });
    clock.set('2026-10-01T12:00:00Z');
    expect(await tierOf(t, m.id, p)).toBe('vib');
    // Nothing in 2026; the job runs late, in March 2027: it still judges 2026 only.
    clock.set('2027-03-01T12:00:00Z');
    expect(await review(t, p)).toMatchObject({ members: 1, downgraded: 1 });
    expect(await tierOf(t, m.id, p)).toBe('insider');
    expect(await review(t, p)).toMatchObject({ members: 0 });
  });

  it('a late-arriving order of last year counts for last year and restores the tier it earned', async () => {
    const p = await program();
    const m = await member(p);
    await activity(t, m.id, { net_spend: 40_000 }, { program: p, occurredAt: '2025-03-01T10:00:00Z' });
    clock.set('2026-01-02T12:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('vib');
    // An order paid on 28 December 2025 reaches Laurel on 10 January 2026: 2025 now qualifies Rouge.
    clock.set('2026-01-10T12:00:00Z');
    const late = await activity(t, m.id, { net_spend: 60_000 }, { program: p, occurredAt: '2025-12-28T15:00:00Z' });
    expect(late.changes[0]).toMatchObject({ from: 'vib', to: 'rouge', reason: 'qualified' });
    expect((await state(t, m.id, p)).earned.reviewAt).toBe('2027-01-01T05:00:00.000Z');
  });

  it('grace: the review starts a grace period; requalifying in it keeps the tier, letting it run out downgrades', async () => {
    const p = await program({ graceDays: 30 });
    const keeper = await member(p);
    const leaver = await member(p);
    for (const m of [keeper, leaver]) await activity(t, m.id, { net_spend: 40_000 }, { program: p, occurredAt: '2025-03-01T10:00:00Z' });
    clock.set('2026-01-02T12:00:00Z');
    await review(t, p);
    // 2026 starts: both judged on 2025 → kept. Nothing in 2026 → the 2027 review starts grace.
    clock.set('2027-01-01T06:00:00Z');
    expect(await review(t, p)).toMatchObject({ members: 2, graceStarted: 2, downgraded: 0 });
    for (const m of [keeper, leaver]) {
      const s = await state(t, m.id, p);
      expect(s.tier.code).toBe('vib');
      expect(s.earned.grace).toMatchObject({ until: '2027-01-31T05:00:00.000Z', thenTier: { code: 'insider' } });
    }
    expect(await events(t, p.id, 'tier.grace_started', leaver.id)).toHaveLength(1);
    const progress = await t.call('GET', `/v1/members/${keeper.id}/tier/progress`, { key: p.key });
    expect(progress.body.keep).toMatchObject({ met: false, graceUntil: '2027-01-31T05:00:00.000Z', message: 'Spend $350.00 more by 30 January 2027 to keep VIB.' });
    clock.set('2027-01-20T12:00:00Z');
    await activity(t, keeper.id, { net_spend: 35_000 }, { program: p });
    expect((await state(t, keeper.id, p)).earned.grace).toBeNull();
    expect(await events(t, p.id, 'tier.grace_ended', keeper.id)).toHaveLength(1);
    clock.set('2027-01-31T05:00:01Z');
    expect(await review(t, p)).toMatchObject({ members: 1, downgraded: 1 });
    expect(await tierOf(t, keeper.id, p)).toBe('vib');
    expect(await tierOf(t, leaver.id, p)).toBe('insider');
    expect((await history(t, leaver.id, p))[0]).toMatchObject({ from: 'vib', to: 'insider', reason: 'grace_expired' });
  });

  it('downgrades at most one level per review when the ladder says so', async () => {
    const p = await program({ downgradeOneLevelAtATime: true });
    const m = await member(p);
    await activity(t, m.id, { net_spend: 120_000 }, { program: p, occurredAt: '2025-03-01T10:00:00Z' });
    clock.set('2026-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('rouge');
    clock.set('2027-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('vib');
    clock.set('2028-01-01T06:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('insider');
    expect((await history(t, m.id, p)).map((h) => `${h.from}>${h.to}`)).toEqual(['vib>insider', 'rouge>vib', 'insider>rouge']);
  });

  it('a manual floor keeps the member at or above a tier, audited, and activity still lifts them above it', async () => {
    const p = await program();
    const m = await member(p);
    const set = await t.call('POST', `/v1/members/${m.id}/tier/override`, { key: p.key, body: { kind: 'floor', tier: 'vib', reason: 'Service recovery after a lost parcel' } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.changes).toEqual([{ memberId: m.id, from: 'insider', to: 'vib', direction: 'up', reason: 'override_set' }]);
    expect(set.body.state).toMatchObject({ tier: { code: 'vib' }, source: 'floor', floor: { tier: { code: 'vib' }, until: null, reason: 'Service recovery after a lost parcel' } });
    const audit = await t.db.db.selectFrom('audit_events').selectAll().where('program_id', '=', p.id).where('action', '=', 'tier.floor_set').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ tier: 'vib', reason: 'Service recovery after a lost parcel' });
    // Reviews never take the member below the floor.
    clock.set('2026-01-02T12:00:00Z');
    await review(t, p);
    expect(await tierOf(t, m.id, p)).toBe('vib');
    await activity(t, m.id, { net_spend: 100_000 }, { program: p });
    expect((await state(t, m.id, p))).toMatchObject({ tier: { code: 'rouge' }, source: 'earned' });
    const removed = await t.call('POST', `/v1/members/${m.id}/tier/override/remove`, { key: p.key, body: { reason: 'done' } });
    expect(removed.status).toBe(200);
    expect(removed.body.changes).toEqual([]);
  });

  it('a lock holds exactly one tier until its date, then the member returns to what they hold', async () => {
    const p = await program();
    const m = await member(p);
    await activity(t, m.id, { net_spend: 120_000 }, { program: p });
    const bad = await t.call('POST', `/v1/members/${m.id}/tier/override`, { key: p.key, body: { kind: 'lock', tier: 'insider', reason: 'Fraud investigation' } });
    expect(bad.status).toBe(400);
    const lock = await t.call('POST', `/v1/members/${m.id}/tier/override`, {
      key: p.key, body: { kind: 'lock', tier: 'insider', until: '2025-04-01T00:00:00Z', reason: 'Fraud investigation' },
    });
    expect(lock.body.changes).toEqual([{ memberId: m.id, from: 'rouge', to: 'insider', direction: 'down', reason: 'override_set' }]);
    await activity(t, m.id, { net_spend: 10_000 }, { program: p });
    expect(await tierOf(t, m.id, p)).toBe('insider');
    const perks = await t.call('GET', `/v1/members/${m.id}/tier/perks`, { key: p.key });
    expect(perks.body).toMatchObject({ tier: { code: 'insider' }, source: 'lock', freeShipping: false });
    clock.set('2025-04-01T00:00:01Z');
    // Reads see the end of the lock at once; the job records the change.
    expect((await t.call('GET', `/v1/members/${m.id}/tier/perks`, { key: p.key })).body.tier.code).toBe('rouge');
    await review(t, p);
    expect((await history(t, m.id, p))[0]).toMatchObject({ from: 'insider', to: 'rouge', reason: 'override_expired' });
  });

  it('an order at 23:30 local on 31 December counts for that year (time zone edge)', async () => {
    const p = await program();
    const late = await member(p);
    const early = await member(p);
    // 23:30 in New York on 31 Dec 2025 is 04:30 UTC on 1 Jan 2026.
    clock.set('2026-01-01T04:30:00Z');
    const crossing = await activity(t, late.id, { net_spend: 40_000 }, { program: p });
    expect(crossing.changes[0]).toMatchObject({ to: 'vib' });
    expect((await state(t, late.id, p)).earned.reviewAt).toBe('2026-01-01T05:00:00.000Z');
    const progress = await t.call('GET', `/v1/members/${late.id}/tier/progress`, { key: p.key });
    expect(progress.body.window).toMatchObject({ start: '2025-01-01T05:00:00.000Z', end: '2026-01-01T05:00:00.000Z' });
    expect(progress.body.metrics[0].value).toBe(40_000);
    // 00:30 local on 1 Jan 2026 belongs to 2026.
    clock.set('2026-01-01T05:30:00Z');
    await activity(t, early.id, { net_spend: 40_000 }, { program: p });
    expect((await state(t, early.id, p)).earned.reviewAt).toBe('2027-01-01T05:00:00.000Z');
    // The review of 2025: the 23:30 order kept VIB for 2026.
    await review(t, p);
    expect(await tierOf(t, late.id, p)).toBe('vib');
    expect((await state(t, late.id, p)).earned.reviewAt).toBe('2027-01-01T05:00:00.000Z');
  });

  it('invitation-only tiers are assigned and revoked by hand, audited', async () => {
    const p = await program({
      tiers: [...ladder().tiers, { code: 'black', name: 'Black Card', kind: 'invitation', benefits: { discountBp: 2_000 } }],
    });
    const m = await member(p);
    const wrong = await t.call('POST', `/v1/members/${m.id}/tier/invitation`, { key: p.key, body: { tier: 'vib', reason: 'x' } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('tier_not_assignable');
    const unknown = await t.call('POST', `/v1/members/${m.id}/tier/invitation`, { key: p.key, body: { tier: 'platinum', reason: 'x' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('tier_not_found');
    const invited = await t.call('POST', `/v1/members/${m.id}/tier/invitation`, { key: p.key, body: { tier: 'black', until: '2026-01-01T00:00:00Z', reason: 'Top 100 client' } });
    expect(invited.body.changes[0]).toMatchObject({ to: 'black', reason: 'invited' });
    expect(invited.body.state).toMatchObject({ source: 'invitation', invitation: { tier: { code: 'black' }, until: '2026-01-01T00:00:00.000Z' } });
    // Activity keeps counting underneath.
    await activity(t, m.id, { net_spend: 40_000 }, { program: p });
    expect((await state(t, m.id, p))).toMatchObject({ tier: { code: 'black' }, earned: { tier: { code: 'vib' } } });
    const revoked = await t.call('POST', `/v1/members/${m.id}/tier/invitation/revoke`, { key: p.key, body: { reason: 'Closed account' } });
    expect(revoked.body.changes[0]).toMatchObject({ from: 'black', to: 'vib', reason: 'invitation_revoked' });
    const audit = await t.db.db.selectFrom('audit_events').select('action').where('program_id', '=', p.id).where('subject_id', '=', m.id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['tier.invited', 'tier.invitation_revoked']);
  });

  it('never shows another program’s members', async () => {
    const p = await program();
    const other = await program();
    const m = await member(p);
    expect((await t.call('GET', `/v1/members/${m.id}/tier`, { key: other.key })).status).toBe(404);
    const res = await t.call('POST', `/v1/members/${m.id}/tier/activity`, { key: other.key, body: { amounts: { net_spend: 1 }, source: { type: 'x', id: 'y' } } });
    expect(res.status).toBe(404);
  });

  it('refuses unknown metrics and empty activity, recording nothing', async () => {
    const p = await program();
    const m = await member(p);
    const unknown = await activity(t, m.id, { balance: 100 }, { program: p, expectStatus: 422 });
    expect(unknown).toMatchObject({ code: 'unknown_tier_metric', metric: 'balance', known: ['net_spend', 'points_earned', 'orders'] });
    const zero = await activity(t, m.id, { net_spend: 0 }, { program: p, expectStatus: 400 });
    expect(zero.code).toBe('validation_failed');
    const rows = await t.db.db.selectFrom('tier_metric_events').select('id').where('member_id', '=', m.id).execute();
    expect(rows).toEqual([]);
  });
});
