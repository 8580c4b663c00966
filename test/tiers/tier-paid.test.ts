import { describe, expect, it } from 'vitest';
import { setupTestApp, TestClock } from '../helpers.ts';
import { activity, history, putLadder, review, SEPHORA, state, tierOf } from './tier-kit.ts';

/** A Prime-like club sold at checkout, ranked above the earned tiers. */
const WITH_CLUB = {
  window: { kind: 'calendar_year' },
  tiers: [
    ...SEPHORA.tiers,
    { code: 'club', name: 'Beauty Club', kind: 'paid', price: { amountMinor: 9_900, periodMonths: 12 }, benefits: { freeShipping: true, discountBp: 500, perks: [{ code: 'free_returns', label: 'Free returns' }] } },
  ],
};

describe('paid tiers', async () => {
  const clock = new TestClock(new Date('2025-01-31T17:00:00Z'));
  const t = await setupTestApp({ clock });

  async function setup() {
    clock.set('2025-01-31T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, WITH_CLUB, p);
    return { p, m: await t.member({}, p) };
  }

  it('is bought with start and end dates, gives its perks, and ends on its end date', async () => {
    const { p, m } = await setup();
    const bought = await t.call('POST', `/v1/members/${m.id}/tier/memberships`, { key: p.key, body: { tier: 'club', reference: { type: 'order', id: 'o-77' } } });
    expect(bought.status, JSON.stringify(bought.body)).toBe(201);
    // 31 January + 12 months, on the program's local calendar.
    expect(bought.body.membership).toMatchObject({ tier: 'club', startsAt: '2025-01-31T17:00:00.000Z', endsAt: '2026-01-31T17:00:00.000Z', active: true, priceMinor: 9_900, reference: { type: 'order', id: 'o-77' } });
    expect(bought.body.changes).toEqual([{ memberId: m.id, from: 'insider', to: 'club', direction: 'up', reason: 'paid_started' }]);
    const perks = await t.call('GET', `/v1/members/${m.id}/tier/perks`, { key: p.key });
    expect(perks.body).toMatchObject({ tier: { code: 'club' }, source: 'paid', freeShipping: true, discountBp: 500, extra: [{ code: 'free_returns', label: 'Free returns' }] });
    const progress = await t.call('GET', `/v1/members/${m.id}/tier/progress`, { key: p.key });
    expect(progress.body.heldBy).toEqual({ source: 'paid', until: '2026-01-31T17:00:00.000Z' });
    // Earning underneath goes on: the member reaches VIB, still shown as club (higher).
    await activity(t, m.id, { net_spend: 40_000 }, { program: p });
    expect(await state(t, m.id, p)).toMatchObject({ tier: { code: 'club' }, earned: { tier: { code: 'vib' } } });
    // At the end date reads stop showing the club at once; the job writes the change.
    clock.set('2026-01-31T17:00:00Z');
    expect((await t.call('GET', `/v1/members/${m.id}/tier/perks`, { key: p.key })).body.tier.code).toBe('vib');
    await review(t, p);
    expect((await history(t, m.id, p))[0]).toMatchObject({ from: 'club', to: 'vib', direction: 'down', reason: 'paid_expired' });
    expect((await t.call('GET', `/v1/members/${m.id}/tier/memberships`, { key: p.key })).body.data[0]).toMatchObject({ active: false, status: 'active' });
  });

  it('is extended by buying again or renewing, and cancelled at once or at the end of the period', async () => {
    const { p, m } = await setup();
    const first = (await t.call('POST', `/v1/members/${m.id}/tier/memberships`, { key: p.key, body: { tier: 'club' } })).body.membership;
    const again = await t.call('POST', `/v1/members/${m.id}/tier/memberships`, { key: p.key, body: { tier: 'club' } });
    expect(again.body.membership).toMatchObject({ id: first.id, periods: 2, endsAt: '2027-01-31T17:00:00.000Z' });
    expect(again.body.changes).toEqual([]);
    const renewed = await t.call('POST', `/v1/tier-memberships/${first.id}/renew`, { key: p.key, body: {} });
    expect(renewed.body.membership).toMatchObject({ id: first.id, periods: 3, endsAt: '2028-01-31T17:00:00.000Z' });
    const atEnd = await t.call('POST', `/v1/tier-memberships/${first.id}/cancel`, { key: p.key, body: { reason: 'Customer asked' } });
    expect(atEnd.body.membership).toMatchObject({ status: 'active', autoRenew: false, endsAt: '2028-01-31T17:00:00.000Z' });
    expect(await tierOf(t, m.id, p)).toBe('club');
    const now = await t.call('POST', `/v1/tier-memberships/${first.id}/cancel`, { key: p.key, body: { immediately: true, reason: 'Chargeback' } });
    expect(now.status, JSON.stringify(now.body)).toBe(200);
    expect(now.body.membership).toMatchObject({ status: 'cancelled', endsAt: '2025-01-31T17:00:00.000Z', active: false });
    expect(now.body.changes).toEqual([{ memberId: m.id, from: 'club', to: 'insider', direction: 'down', reason: 'paid_cancelled' }]);
    const dead = await t.call('POST', `/v1/tier-memberships/${first.id}/renew`, { key: p.key, body: {} });
    expect(dead.status).toBe(409);
    expect(dead.body.code).toBe('tier_membership_not_active');
    const audit = await t.db.db.selectFrom('audit_events').select('action').where('program_id', '=', p.id).where('action', '=', 'tier.membership_cancelled').execute();
    expect(audit).toHaveLength(2);
  });

  it('renewing after the end starts a new period from now', async () => {
    const { p, m } = await setup();
    const first = (await t.call('POST', `/v1/members/${m.id}/tier/memberships`, { key: p.key, body: { tier: 'club' } })).body.membership;
    clock.set('2026-03-01T12:00:00Z');
    const renewed = await t.call('POST', `/v1/tier-memberships/${first.id}/renew`, { key: p.key, body: {} });
    expect(renewed.body.membership).toMatchObject({ startsAt: '2026-03-01T12:00:00.000Z', endsAt: '2027-03-01T12:00:00.000Z', active: true });
    expect(renewed.body.membership.id).not.toBe(first.id);
    expect(await tierOf(t, m.id, p)).toBe('club');
  });

  it('refuses non-paid tiers, unknown memberships and removing a tier that was sold', async () => {
    const { p, m } = await setup();
    const wrong = await t.call('POST', `/v1/members/${m.id}/tier/memberships`, { key: p.key, body: { tier: 'vib' } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('tier_not_assignable');
    const missing = await t.call('POST', '/v1/tier-memberships/00000000-0000-4000-8000-000000000000/renew', { key: p.key, body: {} });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('tier_membership_not_found');
    const bought = (await t.call('POST', `/v1/members/${m.id}/tier/memberships`, { key: p.key, body: { tier: 'club' } })).body.membership;
    const other = await t.newProgram();
    expect((await t.call('POST', `/v1/tier-memberships/${bought.id}/cancel`, { key: other.key, body: { reason: 'x' } })).status).toBe(404);
    await t.call('POST', `/v1/tier-memberships/${bought.id}/cancel`, { key: p.key, body: { immediately: true, reason: 'x' } });
    const del = await t.call('DELETE', '/v1/tiers/club', { key: p.key });
    expect(del.status).toBe(409);
    expect(del.body.code).toBe('tier_in_use');
  });
});
