import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp, TestClock, type TestProgram } from '../helpers.ts';
import { expectLedgerOk, orderBody, type Line, uniqueId } from '../orders/order-helpers.ts';

// Monday 2031-03-03 07:00 in New York (EST).
const START = new Date('2031-03-03T12:00:00Z');
const HOUR = 3_600_000;

/** Each rule type end to end: configured through the API, evaluated on real order events, in the ledger. */
describe('earning rule types', async () => {
  const clock = new TestClock(START);
  const t = await setupTestApp({ clock });

  async function program(rules: { kind: string; name?: string; config: Record<string, unknown>; priority?: number; stopFurtherRules?: boolean }[]) {
    clock.set(START);
    const p: TestProgram = await t.newProgram({
      wallets: [{ code: 'points', name: 'Points' }, { code: 'cashback', name: 'Cashback', unit: 'currency', expiry: { kind: 'days_after_earn', count: 90 } }],
    });
    for (const r of rules) {
      const res = await t.call('POST', '/v1/rules', { key: p.key, body: { name: r.name ?? r.kind, ...r } });
      if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    }
    const member = await t.member({ tags: ['vip'], attributes: { segment: 'runner' }, birthday: '1990-03-20', locale: 'en-US' }, p);
    const as = { key: p.key };
    return {
      p, as, member,
      async order(lines: Line[], extra: Record<string, unknown> = {}, placedAt = new Date(START.getTime() + HOUR)) {
        const res = await t.call('POST', '/v1/orders/events', {
          ...as, idempotencyKey: false,
          body: { orderId: uniqueId('o'), eventId: 'paid', type: 'paid', occurredAt: placedAt.toISOString(), order: orderBody(lines, { customer: { memberId: member.id }, placedAt: placedAt.toISOString(), ...extra }) },
        });
        if (res.status !== 201) throw new Error(JSON.stringify(res.body));
        return res.body.order;
      },
      async balance(wallet = 'points') {
        return (await t.call('GET', `/v1/members/${member.id}/balances/${wallet}`, as)).body;
      },
      async event(orderId: string, body: Record<string, unknown>) {
        return (await t.call('POST', '/v1/orders/events', { ...as, idempotencyKey: false, body: { orderId, ...body } })).body;
      },
    };
  }
  const item = (id: string, quantity: number, unitPriceMinor: number, extra: Partial<Line> = {}): Line => ({ id, sku: id.toUpperCase(), quantity, unitPriceMinor, ...extra });

  it('base rate: points per dollar with exclusions and a minimum order', async () => {
    const s = await program([{ kind: 'base_rate', name: 'Nordstrom 1 per $1', config: { points: 1, perAmountMinor: 100, exclude: { categories: ['gift-wrap'] }, conditions: { minOrderMinor: 2000 } } }]);
    const o = await s.order([item('shirt', 1, 4999), item('wrap', 1, 500, { categories: ['gift-wrap'] }), item('card', 1, 2500, { giftCard: true })], { shippingMinor: 995, taxMinor: 400 });
    expect(o.points.held).toEqual({ points: 49 });
    expect(o.points.breakdown[0].why).toBe('1 per 1.00 USD on 49.99 USD (excluding shipping, tax, gift cards, categories gift-wrap), rounded down');
    const small = await s.order([item('sock', 1, 1500)]);
    expect(small.points.held).toEqual({});
    expect(small.points.notApplied[0].reason).toBe('order value 15.00 USD is below the minimum of 20.00 USD');
  });

  it('club goods multiplier and extra points per product', async () => {
    const s = await program([
      { kind: 'base_rate', config: { points: 1, perAmountMinor: 100 } },
      { kind: 'multiplier', name: 'Club goods ×2', config: { percent: 200, lines: { tags: ['club'] } } },
      { kind: 'extra_points', name: 'Sneaker launch', config: { points: 50, per: 'unit', lines: { productIds: ['p-sneaker'] } } },
    ]);
    const o = await s.order([item('tv', 1, 80000, { tags: ['club'] }), item('hdmi', 2, 1500), item('sneaker', 2, 9000, { productId: 'p-sneaker' })]);
    // base 800 + 30 + 180 = 1010; club +800; sneakers 2 × 50
    expect(o.points.held).toEqual({ points: 1910 });
    expect(o.points.breakdown.map((b: { name: string; points: number }) => [b.name, b.points])).toEqual([['base_rate', 1010], ['Club goods ×2', 800], ['Sneaker launch', 100]]);
    expect(o.points.breakdown[1].lines).toEqual([{ lineId: 'tv', points: 800 }]);
  });

  it('bonus day and hours in the program’s time zone; first and nth order', async () => {
    const s = await program([
      { kind: 'base_rate', config: { points: 1, perAmountMinor: 100 } },
      { kind: 'multiplier', name: 'Triple Tuesday', config: { percent: 300, conditions: { weekdays: [2] } } },
      { kind: 'extra_points', name: 'Happy hour', config: { points: 20, per: 'order', conditions: { hours: { from: '17:00', to: '19:00' } } } },
      { kind: 'extra_points', name: 'Welcome order', config: { points: 500, per: 'order', conditions: { orderNumber: { equals: 1 } } } },
      { kind: 'extra_points', name: 'Every 3rd order', config: { points: 30, per: 'order', conditions: { orderNumber: { every: 3 } } } },
    ]);
    const lines = [item('a', 1, 1000)];
    const monday = await s.order(lines);
    expect(monday.points.held).toEqual({ points: 510 });
    expect(monday.points.notApplied.map((n: { name: string; reason: string }) => `${n.name}: ${n.reason}`).sort()).toEqual([
      'Every 3rd order: only for every 3rd order (this is order 1)',
      'Happy hour: only between 17:00–19:00 local time (it is 08:00)',
      'Triple Tuesday: only on Tuesday (it is Monday)',
    ]);
    // Tuesday 18:30 in New York is Tuesday 23:30 UTC.
    const tuesdayEvening = await s.order(lines, {}, new Date('2031-03-04T23:30:00Z'));
    expect(tuesdayEvening.points.held).toEqual({ points: 10 + 20 + 20 });
    const third = await s.order(lines, {}, new Date('2031-03-05T15:00:00Z'));
    expect(third.points.held).toEqual({ points: 10 + 30 });
  });

  it('$50 threshold across orders, the remainder carried over', async () => {
    const s = await program([{ kind: 'threshold', name: 'Free burrito every $50', config: { everyAmountMinor: 5000, points: 100 } }]);
    await s.order([item('a', 1, 3000)]);
    expect((await s.balance()).available).toBe(0);
    const second = await s.order([item('a', 1, 4500)]);
    expect(second.points.held).toEqual({ points: 100 });
    await s.order([item('a', 1, 3000)]);
    expect((await s.balance()).available).toBe(200);
    const progress = (await t.call('GET', `/v1/members/${s.member.id}/progress`, s.as)).body;
    expect(progress.current).toEqual([expect.objectContaining({ name: 'Free burrito every $50', progress: 10500, reached: 2, toNext: 4500, periodKey: 'lifetime' })]);
    const awards = (await t.call('GET', `/v1/members/${s.member.id}/awards`, s.as)).body.data;
    expect(awards).toHaveLength(2);
    expect(awards[0].breakdown[0].why).toBe('progress 10500 in lifetime: 2 × 100 points (every 5000 spent)');
  });

  it('3 % cashback into the cashback wallet, usable within 90 days', async () => {
    const s = await program([{ kind: 'cashback', name: 'KUPIVIP 3 %', config: { rateBasisPoints: 300 } }]);
    const o = await s.order([item('dress', 1, 12990)]);
    expect(o.points.held).toEqual({ cashback: 389 });
    const lots = (await t.call('GET', `/v1/members/${s.member.id}/lots?wallet=cashback`, s.as)).body.data;
    expect(lots[0]).toMatchObject({ amount: 389, vested: true, expiresAt: new Date(START.getTime() + 90 * DAY).toISOString() });
  });

  it('weekly challenge: buy 3 times this week for a bonus, progress readable and corrected by cancellation', async () => {
    const s = await program([{ kind: 'challenge', name: 'Three this week', config: { target: 3, period: 'week', points: 150, counts: { type: 'orders', minOrderMinor: 500 } } }]);
    const a = await s.order([item('a', 1, 600)]);
    await s.order([item('a', 1, 400)]); // below the minimum: does not count
    await s.order([item('a', 1, 700)], {}, new Date('2031-03-05T15:00:00Z'));
    let progress = (await t.call('GET', `/v1/members/${s.member.id}/progress`, s.as)).body.current[0];
    expect(progress).toMatchObject({ periodKey: 'week:2031-W10', progress: 2, goal: 3, toNext: 1, complete: false, counts: 'orders' });
    const third = await s.order([item('a', 1, 900)], {}, new Date('2031-03-08T15:00:00Z'));
    expect(third.points.held).toEqual({ points: 150 });
    progress = (await t.call('GET', `/v1/members/${s.member.id}/progress`, s.as)).body.current[0];
    expect(progress).toMatchObject({ progress: 3, reached: 1, complete: true, toNext: null });
    // Next week starts from zero.
    await s.order([item('a', 1, 900)], {}, new Date('2031-03-10T15:00:00Z'));
    expect((await s.balance()).available).toBe(150);
    // A cancelled order no longer counts: the bonus goes back.
    await s.event(a.orderId, { eventId: 'cancel', type: 'cancelled', occurredAt: new Date('2031-03-09T15:00:00Z').toISOString() });
    expect((await s.balance()).available).toBe(0);
    clock.set(new Date('2031-03-06T12:00:00Z'));
    progress = (await t.call('GET', `/v1/members/${s.member.id}/progress`, s.as)).body.current[0];
    expect(progress).toMatchObject({ progress: 2, reached: 0 });
    await expectLedgerOk(t, s.p.key);
  });

  it('caps per order and per member per month', async () => {
    const s = await program([
      { kind: 'base_rate', config: { points: 10, perAmountMinor: 100, caps: { perOrder: 1000 } } },
      { kind: 'extra_points', name: 'Weekday treat', config: { points: 100, per: 'order', caps: { perMember: { points: 250, period: 'month' } } } },
    ]);
    const big = await s.order([item('a', 1, 50000)]);
    expect(big.points.breakdown[0]).toMatchObject({ points: 1000 });
    expect(big.points.breakdown[0].why).toMatch(/capped at 1000 per order/);
    await s.order([item('a', 1, 100)]);
    const third = await s.order([item('a', 1, 100)]);
    expect(third.points.breakdown[1]).toMatchObject({ name: 'Weekday treat', points: 50 });
    const fourth = await s.order([item('a', 1, 100)]);
    expect(fourth.points.notApplied[0].reason).toBe('member cap of 250 per month already reached');
    const nextMonth = await s.order([item('a', 1, 100)], {}, new Date('2031-04-02T15:00:00Z'));
    expect(nextMonth.points.breakdown[1]).toMatchObject({ points: 100 });
  });

  it('priorities and stop further rules', async () => {
    const s = await program([
      { kind: 'base_rate', config: { points: 1, perAmountMinor: 100 } },
      { kind: 'multiplier', name: 'Black Friday ×5', priority: 150, stopFurtherRules: true, config: { percent: 500, conditions: { dates: [{ from: '2031-03-03', to: '2031-03-03' }] } } },
      { kind: 'multiplier', name: 'VIP ×2', config: { percent: 200, conditions: { memberTags: ['vip'] } } },
    ]);
    const blackFriday = await s.order([item('a', 1, 10000)]);
    expect(blackFriday.points.held).toEqual({ points: 500 });
    expect(blackFriday.points.notApplied).toEqual([expect.objectContaining({ name: 'VIP ×2', reason: 'stopped by rule "Black Friday ×5", which comes first and stops further rules' })]);
    const nextDay = await s.order([item('a', 1, 10000)], {}, new Date('2031-03-04T15:00:00Z'));
    expect(nextDay.points.held).toEqual({ points: 200 });
  });

  it('personalised offers: member tags, attributes, birthday month, locale and tier', async () => {
    const s = await program([
      { kind: 'extra_points', name: 'VIP', config: { points: 1, per: 'order', conditions: { memberTags: ['vip'] } } },
      { kind: 'extra_points', name: 'Runners', config: { points: 2, per: 'order', conditions: { memberAttributes: { segment: ['runner', 'hiker'] } } } },
      { kind: 'extra_points', name: 'Birthday month', config: { points: 4, per: 'order', conditions: { birthdayMonth: true } } },
      { kind: 'extra_points', name: 'Korean members', config: { points: 8, per: 'order', conditions: { locales: ['ko'] } } },
      { kind: 'extra_points', name: 'Gold tier', config: { points: 16, per: 'order', conditions: { tiers: ['gold'] } } },
    ]);
    const o = await s.order([item('a', 1, 1000)]);
    expect(o.points.held).toEqual({ points: 7 });
    expect(o.points.notApplied.map((n: { reason: string }) => n.reason).sort()).toEqual([
      'only for members with locale ko (member’s: en-US)',
      'only for tiers gold (member’s tier: none)',
    ]);
  });

  it('pending per rule for the return window, then vested', async () => {
    const s = await program([
      { kind: 'base_rate', config: { points: 1, perAmountMinor: 100, pending: { days: 30 } } },
      { kind: 'extra_points', name: 'Instant', config: { points: 5, per: 'order' } },
    ]);
    await s.order([item('a', 1, 10000)]);
    expect(await s.balance()).toMatchObject({ available: 5, pending: 100 });
    clock.set(new Date(START.getTime() + HOUR + 30 * DAY + 1000));
    expect(await s.balance()).toMatchObject({ available: 105, pending: 0 });
  });

  it('preview: a cart or a product, with the rules that would not apply, writing nothing', async () => {
    const s = await program([
      { kind: 'base_rate', name: 'Per dollar', config: { points: 1, perAmountMinor: 100 } },
      { kind: 'multiplier', name: 'Club goods ×2', config: { percent: 200, lines: { tags: ['club'] } } },
      { kind: 'extra_points', name: 'Weekend', config: { points: 10, per: 'order', conditions: { weekdays: [6, 7] } } },
      { kind: 'threshold', name: 'Every $50', config: { everyAmountMinor: 5000, points: 100 } },
    ]);
    const product = await t.call('POST', '/v1/earning/preview', { ...s.as, idempotencyKey: false, body: { product: { sku: 'TV', tags: ['club'], unitPriceMinor: 49900 } } });
    expect(product.status).toBe(200);
    expect(product.body).toMatchObject({ memberId: null, points: { points: 998 } });
    expect(product.body.notApplied).toEqual([expect.objectContaining({ name: 'Weekend', reason: 'only on Saturday, Sunday (it is Monday)' })]);
    expect(product.body.progress[0]).toMatchObject({ name: 'Every $50', before: 0, after: 49900, bonusPoints: 900 });
    await s.order([item('a', 1, 4000)]);
    const cart = await t.call('POST', '/v1/earning/preview', { ...s.as, body: { memberId: s.member.id, cart: { lines: [item('x', 2, 1000), item('y', 1, 500, { tags: ['club'] })] } } });
    expect(cart.body.points).toEqual({ points: 30 });
    expect(cart.body.breakdown[1]).toMatchObject({ name: 'Club goods ×2', points: 5, lines: [{ lineId: 'y', points: 5 }] });
    expect(cart.body.progress[0]).toMatchObject({ before: 4000, after: 6500, bonusPoints: 100, toNext: 3500 });
    // Nothing was written.
    expect((await s.balance()).available).toBe(40);
    expect((await t.call('GET', `/v1/members/${s.member.id}/orders`, s.as)).body.data).toHaveLength(1);
    const bad = await t.call('POST', '/v1/earning/preview', { ...s.as, body: { product: { unitPriceMinor: 1 }, cart: { lines: [item('x', 1, 1)] } } });
    expect(bad.body.code).toBe('validation_failed');
  });

  it('explains every award in the member’s history', async () => {
    const s = await program([
      { kind: 'base_rate', name: 'Per dollar', config: { points: 1, perAmountMinor: 100 } },
      { kind: 'cashback', name: '3 % back', config: { rateBasisPoints: 300 } },
    ]);
    const o = await s.order([item('a', 2, 2500)]);
    await s.event(o.orderId, { eventId: 'refund', type: 'refunded', occurredAt: new Date(START.getTime() + 2 * HOUR).toISOString(), refund: { lines: [{ lineId: 'a', quantity: 1 }] } });
    const awards = (await t.call('GET', `/v1/members/${s.member.id}/awards`, s.as)).body.data;
    expect(awards.map((a: { wallet: string; amount: number; reversed: number }) => [a.wallet, a.amount, a.reversed]).sort()).toEqual([['cashback', 150, 75], ['points', 50, 25]]);
    const points = awards.find((a: { wallet: string }) => a.wallet === 'points');
    expect(points).toMatchObject({ source: { type: 'order', orderId: o.orderId }, breakdown: [{ name: 'Per dollar', points: 50, why: '1 per 1.00 USD on 50.00 USD (excluding shipping, tax, gift cards), rounded down' }] });
    expect(points.reversals).toEqual([expect.objectContaining({ amount: 25 })]);
    const entries = (await t.call('GET', `/v1/members/${s.member.id}/entries`, s.as)).body.data;
    expect(entries.map((e: { description: string | null }) => e.description)).toContain(`Order ${o.orderId}: Per dollar 50`);
    const op = await t.call('GET', `/v1/operations/${points.operationId}`, s.as);
    expect(op.body.metadata.breakdown[0]).toMatchObject({ name: 'Per dollar', points: 50 });
    await expectLedgerOk(t, s.p.key);
  });
});
