import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { createReward, expectLedgerOk, redeemOk } from '../rewards/reward-fixtures.ts';

// One shopper across domains: orders earn by the rules, cross a tier threshold (upgrade in the
// same transaction), earn at the tier's multiplier, spend on a voucher used by an order that is
// then cancelled (voucher released, tier metric lowered), and the ledger stays exact throughout.
describe('loyalty journey across orders, rules, tiers and rewards', async () => {
  // The database clock throughout: enrolment times and order times must share one clock.
  const t = await setupTestApp();
  const now = () => new Date().toISOString();

  const order = (orderId: string, eventId: string, type: string, amountMinor: number, customerId: string, extra: Record<string, unknown> = {}) =>
    t.call('POST', '/v1/orders/events', {
      body: {
        store: 'web', orderId, eventId, type, occurredAt: now(),
        order: {
          placedAt: now(), currency: 'USD', channel: 'online', customer: { customerId },
          lines: [{ id: '1', sku: 'SKU-1', quantity: 1, unitPriceMinor: amountMinor }],
        },
        ...extra,
      },
    });
  const balance = async (memberId: string) => (await t.call('GET', `/v1/members/${memberId}/balances/points`)).body;
  const tierOf = async (memberId: string, key?: string) => (await t.call('GET', `/v1/members/${memberId}/tier`, { key })).body.tier?.code;

  it('upgrades on the crossing order, earns at the tier multiplier, and releases vouchers of a cancelled order', async () => {
    expect((await t.call('POST', '/v1/stores', { body: { code: 'web', name: 'Web shop', kind: 'online' } })).status).toBe(201);
    const rule = await t.call('POST', '/v1/rules', { body: { kind: 'base_rate', name: '1 point per $1', config: { points: 1, perAmountMinor: 100 } } });
    expect(rule.status).toBe(201);
    const ladder = await t.call('PUT', '/v1/tiers', {
      body: {
        window: { kind: 'calendar_year' },
        tiers: [
          { code: 'insider', name: 'Insider', thresholds: { net_spend: 0 } },
          { code: 'vib', name: 'VIB', thresholds: { net_spend: 35_000 }, benefits: { earnMultiplierBp: 15_000 } },
        ],
      },
    });
    expect(ladder.status).toBe(200);
    const member = await t.member({ customerId: 'shopper-1' });

    // $300 paid: 300 points at ×1, still Insider.
    expect((await order('A-1', 'a1-paid', 'paid', 30_000, 'shopper-1')).status).toBeLessThan(300);
    expect((await balance(member.id)).available).toBe(300);
    expect(await tierOf(member.id)).toBe('insider');

    // $100 more crosses $350: upgraded in the same transaction as the order; this order was
    // evaluated with the tier the member had when it was placed (Insider), so 100 points.
    expect((await order('A-2', 'a2-paid', 'paid', 10_000, 'shopper-1')).status).toBeLessThan(300);
    expect(await tierOf(member.id)).toBe('vib');
    expect((await balance(member.id)).available).toBe(400);

    // The next order earns at ×1.5, explained in the award.
    expect((await order('A-3', 'a3-paid', 'paid', 10_000, 'shopper-1')).status).toBeLessThan(300);
    expect((await balance(member.id)).available).toBe(550);
    const awards = (await t.call('GET', `/v1/members/${member.id}/awards`)).body;
    expect(JSON.stringify(awards)).toContain('×1.5 for tier vib');

    // A voucher bought with points is consumed by order B-1, which is then cancelled.
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 500, benefit: { amountOffMinor: 500 } });
    const { voucher } = await redeemOk(t, member.id, reward.id);
    expect((await balance(member.id)).available).toBe(50);
    const consumed = await t.call('POST', '/v1/checkout/vouchers/consume', {
      body: { code: voucher.code, orderId: 'B-1', memberId: member.id, cart: { currency: 'USD', subtotalMinor: 10_000 } },
    });
    expect(consumed.status).toBe(200);
    expect((await order('B-1', 'b1-created', 'created', 10_000, 'shopper-1')).status).toBeLessThan(300);
    expect((await order('B-1', 'b1-cancelled', 'cancelled', 10_000, 'shopper-1')).status).toBeLessThan(300);
    const after = (await t.call('GET', `/v1/vouchers/${voucher.id}`)).body;
    expect(after.status).toBe('issued');
    expect(after.orderId).toBeNull();

    // Cancelling a paid order takes back its points and lowers the tier metric (the tier itself
    // waits for the review, the ladder's default).
    expect((await order('A-3', 'a3-cancelled', 'cancelled', 10_000, 'shopper-1')).status).toBeLessThan(300);
    expect((await balance(member.id)).available).toBe(-100);
    const progress = (await t.call('GET', `/v1/members/${member.id}/tier/progress`)).body;
    expect(JSON.stringify(progress)).toContain('40000');
    expect(await tierOf(member.id)).toBe('vib');

    await expectLedgerOk(t);
  });

  it('counts points earned in the points wallet towards a points-earned ladder, and refunds lower it', async () => {
    const p = await t.newProgram();
    const ladder = await t.call('PUT', '/v1/tiers', {
      key: p.key,
      body: { window: { kind: 'lifetime' }, tiers: [{ code: 'base', name: 'Base', thresholds: { points_earned: 0 } }, { code: 'gold', name: 'Gold', thresholds: { points_earned: 1000 } }] },
    });
    expect(ladder.status).toBe(200);
    const m = await t.member({}, p);
    const first = await t.earn(m.id, 600, {}, p);
    await t.earn(m.id, 500, {}, p);
    expect(await tierOf(m.id, p.key)).toBe('gold');
    const reversed = await t.call('POST', `/v1/operations/${first.operation.id}/reverse`, { key: p.key, body: { amount: 200 } });
    expect(reversed.status).toBe(201);
    const progress = (await t.call('GET', `/v1/members/${m.id}/tier/progress`, { key: p.key })).body;
    expect(JSON.stringify(progress)).toContain('900');
    await expectLedgerOk(t, p);
  });
});
