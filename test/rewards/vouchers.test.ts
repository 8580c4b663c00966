import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';
import { available, createReward, expectLedgerOk, memberWith, redeem, redeemOk, stockOf } from './reward-fixtures.ts';

const START = '2025-06-02T16:00:00Z';
const cart = (subtotalMinor: number, extra: Record<string, unknown> = {}) => ({ currency: 'USD', subtotalMinor, shippingMinor: 599, ...extra });

describe('vouchers at checkout', async () => {
  const clock = new TestClock(new Date(START));
  const t = await setupTestApp({ clock });

  const validate = (body: Record<string, unknown>) => t.call('POST', '/v1/checkout/vouchers/validate', { body });
  const consume = (body: Record<string, unknown>) => t.call('POST', '/v1/checkout/vouchers/consume', { body });
  const release = (body: Record<string, unknown>) => t.call('POST', '/v1/checkout/vouchers/release', { body });
  const voucherOf = async (id: string) => (await t.call('GET', `/v1/vouchers/${id}`)).body;

  it('validate → consume → release → consume again', async () => {
    const reward = await createReward(t, { kind: 'percentage', costPoints: 500, benefit: { percent: 15, maxDiscountMinor: 2000 }, voucher: { validityDays: 60 } });
    const m = await memberWith(t, 1000);
    const { voucher } = await redeemOk(t, m.id, reward.id);

    const check = await validate({ code: voucher.code.toLowerCase(), memberId: m.id, cart: cart(10_000) });
    expect(check.status).toBe(200);
    expect(check.body).toMatchObject({ valid: true, voucher: { id: voucher.id, status: 'issued' }, discount: { amountMinor: 1500, freeShipping: false } });
    expect((await validate({ code: voucher.code, cart: cart(50_000) })).body.discount.amountMinor).toBe(2000);
    expect((await voucherOf(voucher.id)).status).toBe('issued');

    const used = await consume({ code: voucher.code, orderId: 'order-1', memberId: m.id, cart: cart(10_000) });
    expect(used.status).toBe(200);
    expect(used.body).toMatchObject({ discountMinor: 1500, alreadyConsumed: false, voucher: { status: 'consumed', orderId: 'order-1' } });
    // The same order again (a retry without the first key): the same answer, nothing new.
    const retry = await consume({ code: voucher.code, orderId: 'order-1', cart: cart(10_000) });
    expect(retry.body).toMatchObject({ alreadyConsumed: true, discountMinor: 1500 });
    // Another order: already used, nothing changes.
    const other = await consume({ code: voucher.code, orderId: 'order-2', cart: cart(10_000) });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('voucher_already_used');
    expect((await validate({ code: voucher.code, cart: cart(10_000) })).body.code).toBe('voucher_already_used');
    expect((await validate({ code: voucher.code, orderId: 'order-1', cart: cart(10_000) })).status).toBe(200);
    expect((await voucherOf(voucher.id)).orderId).toBe('order-1');

    expect((await release({ orderId: 'order-2', code: voucher.code })).body.code).toBe('voucher_not_consumed');
    const released = await release({ orderId: 'order-1' });
    expect(released.status).toBe(200);
    expect(released.body.released).toHaveLength(1);
    expect(released.body.released[0].voucher).toMatchObject({ status: 'issued', orderId: null, discountMinor: null });
    const reused = await consume({ code: voucher.code, orderId: 'order-3', cart: cart(4000) });
    expect(reused.body).toMatchObject({ discountMinor: 600, voucher: { status: 'consumed', orderId: 'order-3' } });
    expect(await available(t, m.id)).toBe(500);
    const events = await t.db.db.selectFrom('events').select('type').where('member_id', '=', m.id).where('type', 'like', 'voucher.%').execute();
    expect(events.map((e) => e.type)).toEqual(['voucher.consumed', 'voucher.released', 'voucher.consumed']);
  });

  it('orders racing for one code: exactly one gets it', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 10, benefit: { amountOffMinor: 700 } });
    const m = await memberWith(t, 100);
    const { voucher } = await redeemOk(t, m.id, reward.id);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => consume({ code: voucher.code, orderId: `race-${i}`, cart: cart(5000) })));
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'voucher_already_used')).toBe(true);
    expect((await voucherOf(voucher.id)).orderId).toBe(won[0]!.body.voucher.orderId);
  });

  it('discounts per kind; carts they do not fit are refused with voucher_not_applicable', async () => {
    const m = await memberWith(t, 10_000);
    const note = await createReward(t, { kind: 'fixed_amount', costPoints: 10, benefit: { amountOffMinor: 2000, minimumOrderMinor: 5000 } });
    const ship = await createReward(t, { kind: 'free_shipping', costPoints: 10 });
    const mug = await createReward(t, { kind: 'free_product', costPoints: 10, benefit: { sku: 'MUG' } });
    const ticket = await createReward(t, { kind: 'experience', costPoints: 10, benefit: { eventAt: '2025-07-01T19:00:00Z' } });
    const n = (await redeemOk(t, m.id, note.id)).voucher.code;
    expect((await validate({ code: n, cart: cart(6000) })).body.discount.amountMinor).toBe(2000);
    const low = await validate({ code: n, cart: cart(4999) });
    expect(low.status).toBe(422);
    expect(low.body).toMatchObject({ code: 'voucher_not_applicable', reason: 'cart' });
    expect((await validate({ code: n, cart: cart(6000, { currency: 'EUR' }) })).body).toMatchObject({ code: 'voucher_not_applicable', reason: 'currency' });
    expect((await validate({ code: n })).status).toBe(400);
    const s = (await redeemOk(t, m.id, ship.id)).voucher.code;
    expect((await validate({ code: s, cart: cart(100) })).body.discount).toEqual({ amountMinor: 599, freeShipping: true, freeItems: [] });
    const g = (await redeemOk(t, m.id, mug.id)).voucher.code;
    expect((await validate({ code: g, cart: cart(2000) })).body.code).toBe('voucher_not_applicable');
    expect((await validate({ code: g, cart: cart(2900, { items: [{ sku: 'MUG', quantity: 1, unitPriceMinor: 900 }, { sku: 'TEE', quantity: 1, unitPriceMinor: 2000 }] }) })).body.discount)
      .toEqual({ amountMinor: 900, freeShipping: false, freeItems: [{ sku: 'MUG', quantity: 1, amountMinor: 900 }] });
    // A ticket is used at the door, without a cart.
    const tk = (await redeemOk(t, m.id, ticket.id)).voucher.code;
    expect((await validate({ code: tk, cart: cart(100) })).body.code).toBe('voucher_not_applicable');
    const door = await consume({ code: tk, orderId: 'gate-7' });
    expect(door.body).toMatchObject({ discountMinor: null, voucher: { status: 'consumed', kind: 'experience' } });
  });

  it('unknown code, another member’s voucher, another program’s code', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 10, benefit: { amountOffMinor: 100 } });
    const owner = await memberWith(t, 100);
    const stranger = await memberWith(t, 100);
    const { voucher } = await redeemOk(t, owner.id, reward.id);
    const unknown = await validate({ code: 'NOPE-NOPE-NOPE', cart: cart(1000) });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('voucher_not_found');
    const wrong = await consume({ code: voucher.code, orderId: 'o-x', memberId: stranger.id, cart: cart(1000) });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('voucher_wrong_member');
    expect((await voucherOf(voucher.id)).status).toBe('issued');
    const other = await t.newProgram();
    const res = await t.call('POST', '/v1/checkout/vouchers/validate', { body: { code: voucher.code, cart: cart(1000) }, key: other.key });
    expect(res.status).toBe(404);
  });

  it('expiry: an unused voucher expires after its validity; points back only if the reward says so', async () => {
    const refunding = await createReward(t, { kind: 'fixed_amount', costPoints: 300, stock: 5, benefit: { amountOffMinor: 300 }, voucher: { validityDays: 60, refundOnExpiry: true } });
    const keeping = await createReward(t, { kind: 'fixed_amount', costPoints: 200, benefit: { amountOffMinor: 200 }, voucher: { validityDays: 60 } });
    const m = await memberWith(t, 1000);
    const a = await redeemOk(t, m.id, refunding.id);
    const b = await redeemOk(t, m.id, keeping.id);
    const c = await redeemOk(t, m.id, keeping.id);
    await consume({ code: c.voucher.code, orderId: 'order-c', cart: cart(1000) });
    expect(await available(t, m.id)).toBe(300);

    clock.set(new Date(Date.parse(START) + 60 * DAY - 1000));
    expect((await validate({ code: a.voucher.code, cart: cart(1000) })).status).toBe(200);
    clock.set(new Date(Date.parse(START) + 60 * DAY));
    // Past its end, the voucher is refused even before the job runs.
    const late = await consume({ code: a.voucher.code, orderId: 'late', cart: cart(1000) });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ code: 'voucher_expired', expiresAt: a.voucher.expiresAt });
    expect((await voucherOf(a.voucher.id)).status).toBe('expired');

    const run = await t.call('POST', '/v1/rewards/maintenance');
    expect(run.body).toMatchObject({ vouchersExpired: 2, pointsRefunded: 300 });
    expect((await t.call('POST', '/v1/rewards/maintenance')).body).toMatchObject({ vouchersExpired: 0, pointsRefunded: 0 });
    expect(await available(t, m.id)).toBe(600);
    expect((await voucherOf(b.voucher.id)).status).toBe('expired');
    expect((await voucherOf(c.voucher.id)).status).toBe('consumed');
    expect((await t.call('GET', `/v1/redemptions/${a.id}`)).body).toMatchObject({ refundedPoints: 300, status: 'completed' });
    // Expired stock does not come back (the offer's time is over).
    expect(await stockOf(t, refunding.id)).toBe(4);
    // A consumed voucher released after its end expires at once instead of coming back.
    const rel = await release({ orderId: 'order-c' });
    expect(rel.body.released[0]).toMatchObject({ voucher: { status: 'expired' }, refundedPoints: 0 });
    expect((await t.call('POST', `/v1/vouchers/${a.voucher.id}/cancel`)).body.code).toBe('redemption_not_cancellable');
    clock.set(START);
    await expectLedgerOk(t);
  });

  it('cancelling an unused voucher refunds per setting and returns stock; a used one cannot be cancelled', async () => {
    const refund = await createReward(t, { kind: 'free_shipping', costPoints: 250, stock: 3 });
    const keep = await createReward(t, { kind: 'free_shipping', costPoints: 100, voucher: { refundOnCancel: false } });
    const m = await memberWith(t, 1000);
    const a = await redeemOk(t, m.id, refund.id);
    const b = await redeemOk(t, m.id, keep.id);
    const c = await redeemOk(t, m.id, refund.id);
    await consume({ code: c.voucher.code, orderId: 'order-z', cart: cart(1000) });
    expect(await stockOf(t, refund.id)).toBe(1);
    const cancelA = await t.call('POST', `/v1/vouchers/${a.voucher.id}/cancel`, { body: { reason: 'asked by member' } });
    expect(cancelA.status).toBe(200);
    expect(cancelA.body).toMatchObject({ status: 'cancelled', refundedPoints: 250, voucher: { status: 'cancelled' } });
    expect(await stockOf(t, refund.id)).toBe(2);
    const cancelB = await t.call('POST', `/v1/redemptions/${b.id}/cancel`);
    expect(cancelB.body).toMatchObject({ status: 'cancelled', refundedPoints: 0 });
    expect(await available(t, m.id)).toBe(1000 - 250 - 100 - 250 + 250);
    const cancelC = await t.call('POST', `/v1/vouchers/${c.voucher.id}/cancel`);
    expect(cancelC.status).toBe(409);
    expect(cancelC.body).toMatchObject({ code: 'redemption_not_cancellable', voucherStatus: 'consumed' });
    const again = await t.call('POST', `/v1/vouchers/${a.voucher.id}/cancel`);
    expect(again.body.code).toBe('redemption_not_cancellable');
    expect((await validate({ code: a.voucher.code, cart: cart(1000) })).body.code).toBe('voucher_cancelled');
    await expectLedgerOk(t);
  });

  it('subscription renewals: a voucher for the next renewal applies to that renewal only', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 100, benefit: { amountOffMinor: 500 } });
    const renewalOnly = await createReward(t, { kind: 'percentage', costPoints: 100, benefit: { percent: 10 }, voucher: { usage: 'renewal' } });
    const m = await memberWith(t, 1000);
    const forSub = await redeemOk(t, m.id, reward.id, { subscriptionId: 'sub-42' });
    expect(forSub.voucher).toMatchObject({ renewalOnly: true, subscriptionId: 'sub-42' });
    const notRenewal = await validate({ code: forSub.voucher.code, cart: cart(3000) });
    expect(notRenewal.body).toMatchObject({ code: 'voucher_not_applicable', reason: 'renewal_only' });
    expect((await validate({ code: forSub.voucher.code, cart: cart(3000, { renewal: true, subscriptionId: 'sub-7' }) })).body.reason).toBe('other_subscription');
    const renewal = await consume({ code: forSub.voucher.code, orderId: 'renewal-sub-42-2025-07', cart: cart(3000, { renewal: true, subscriptionId: 'sub-42' }) });
    expect(renewal.body).toMatchObject({ discountMinor: 500, voucher: { status: 'consumed' } });
    const any = await redeemOk(t, m.id, renewalOnly.id);
    expect(any.voucher).toMatchObject({ renewalOnly: true, subscriptionId: null });
    expect((await validate({ code: any.voucher.code, cart: cart(3000, { renewal: true, subscriptionId: 'sub-1' }) })).body.discount.amountMinor).toBe(300);
    const donation = await createReward(t, { kind: 'donation', costPoints: 10, benefit: { cause: 'trees' } });
    expect((await redeem(t, m.id, donation.id, { subscriptionId: 'sub-42' })).status).toBe(400);
  });

  it('codes from an imported pool; exhaustion is a clear error that changes nothing', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 100, stock: 10, benefit: { amountOffMinor: 1000 }, voucher: { codeSource: 'pool' } });
    const imported = await t.call('POST', `/v1/rewards/${reward.id}/codes`, { body: { codes: ['SHOP-AAA-111', 'shop-aaa-111', 'SHOP-BBB-222', ' SHOP-CCC-333 '] } });
    expect(imported.status).toBe(200);
    expect(imported.body).toEqual({ received: 4, imported: 3, skipped: 1, pool: { available: 3, assigned: 0 } });
    const again = await t.call('POST', `/v1/rewards/${reward.id}/codes`, { body: { codes: ['SHOP-BBB-222', 'SHOP-DDD-444'] } });
    expect(again.body).toMatchObject({ imported: 1, skipped: 1, pool: { available: 4 } });
    const m = await memberWith(t, 1000);
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await redeemOk(t, m.id, reward.id)).voucher.code);
    expect(codes.sort()).toEqual(['SHOP-AAA-111', 'SHOP-BBB-222', 'SHOP-CCC-333', 'SHOP-DDD-444']);
    const before = await available(t, m.id);
    const exhausted = await redeem(t, m.id, reward.id);
    expect(exhausted.status).toBe(409);
    expect(exhausted.body.code).toBe('code_pool_exhausted');
    expect(await available(t, m.id)).toBe(before);
    expect(await stockOf(t, reward.id)).toBe(6);
    expect((await t.call('GET', `/v1/rewards/${reward.id}`)).body.codePool).toEqual({ available: 0, assigned: 4 });
    expect((await validate({ code: 'shop-bbb-222', cart: cart(2000) })).body.discount.amountMinor).toBe(1000);
    const generated = await createReward(t, { kind: 'free_shipping', costPoints: 1 });
    const refused = await t.call('POST', `/v1/rewards/${generated.id}/codes`, { body: { codes: ['ABCD-1234'] } });
    expect(refused.status).toBe(400);
  });
});
