import { describe, expect, it } from 'vitest';
import { byPriority, compileRule, type CompiledRule } from './compile-rule.ts';
import { evaluateOrder, type EvaluationContext, type OrderInput, type OrderLine } from './evaluate-order.ts';
import { DEFAULT_PRIORITY, normalizeRuleConfig, type RuleConfig, type RuleKind } from './rule-config.ts';

let seq = 0;
function rule(kind: RuleKind, config: RuleConfig, extra: { name?: string; priority?: number; stopFurther?: boolean; id?: string } = {}): CompiledRule {
  seq++;
  return compileRule({
    ruleId: extra.id ?? `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
    version: 1, kind, name: extra.name ?? `${kind} ${seq}`, priority: extra.priority ?? DEFAULT_PRIORITY[kind],
    stopFurther: extra.stopFurther ?? false, effectiveFrom: new Date('2020-01-01T00:00:00Z'), config: normalizeRuleConfig(kind, config),
  });
}

const line = (id: string, quantity: number, unitPriceMinor: number, extra: Partial<OrderLine> = {}): OrderLine => ({
  id, sku: id.toUpperCase(), productId: null, categories: [], tags: [], quantity, unitPriceMinor, discountMinor: 0, giftCard: false, ...extra,
});

// 2025-03-14 is a Friday; 15:00 UTC is 11:00 in New York (EDT).
const order = (lines: OrderLine[], extra: Partial<OrderInput> = {}): OrderInput => ({
  placedAt: new Date('2025-03-14T15:00:00Z'), store: 'web', channel: 'online', lines, discountMinor: 0, shippingMinor: 0, taxMinor: 0, paidWithPointsMinor: 0, ...extra,
});

const ctx = (extra: Partial<EvaluationContext> = {}): EvaluationContext => ({
  member: { tierCode: null, tags: [], attributes: {}, birthday: null, locale: 'en-US' },
  orderNumber: 2, capUsage: {}, timeZone: 'America/New_York', currency: { code: 'USD', exponent: 2 },
  wallets: { points: { pendingDays: 14 }, cashback: { pendingDays: 0 } }, pendingFrom: 'paid', ...extra,
});

const run = (o: OrderInput, rules: CompiledRule[], c: EvaluationContext = ctx()) => evaluateOrder(o, c, [...rules].sort(byPriority));
const total = (r: ReturnType<typeof run>, wallet = 'points') => r.items.filter((i) => i.wallet === wallet).reduce((s, i) => s + i.points, 0);

describe('evaluateOrder: base rate', () => {
  const perDollar = rule('base_rate', { points: 1, perAmountMinor: 100 });

  it('gives 1 point per dollar of merchandise, floor by default, shipping and tax excluded', () => {
    const r = run(order([line('a', 2, 1999)], { shippingMinor: 500, taxMinor: 320 }), [perDollar]);
    expect(total(r)).toBe(39);
    expect(r.items[0]!.why).toContain('39.98 USD');
    expect(r.items[0]!.attribution).toEqual({ lines: [39], order: 0 });
  });

  it('rounds by the rule’s mode', () => {
    const o = order([line('a', 1, 1950)]);
    expect(total(run(o, [rule('base_rate', { points: 1, perAmountMinor: 100, rounding: 'round' })]))).toBe(20);
    expect(total(run(o, [rule('base_rate', { points: 1, perAmountMinor: 100, rounding: 'ceil' })]))).toBe(20);
    expect(total(run(o, [rule('base_rate', { points: 1, perAmountMinor: 100 })]))).toBe(19);
    expect(total(run(order([line('a', 1, 1949)]), [rule('base_rate', { points: 1, perAmountMinor: 100, rounding: 'round' })]))).toBe(19);
  });

  it('can include shipping and tax, attributing them to the order as a whole', () => {
    const r = run(order([line('a', 1, 1000)], { shippingMinor: 500, taxMinor: 500 }), [rule('base_rate', { points: 1, perAmountMinor: 100, includeShipping: true, includeTax: true })]);
    expect(total(r)).toBe(20);
    expect(r.items[0]!.attribution).toEqual({ lines: [10], order: 10 });
  });

  it('excludes gift cards, listed SKUs and categories, and the part paid with points', () => {
    const o = order([line('a', 1, 5000), line('gift', 1, 2500, { giftCard: true }), line('b', 1, 3000, { categories: ['tobacco'] })], { paidWithPointsMinor: 1000 });
    const r = run(o, [rule('base_rate', { points: 1, perAmountMinor: 100, exclude: { categories: ['tobacco'] } })]);
    // 5000 of line a, minus its share of the points payment (1000 × 5000/10500 → 476)
    expect(total(r)).toBe(45);
    expect(r.items[0]!.why).toMatch(/gift cards/);
    expect(r.items[0]!.why).toMatch(/paid with points/);
  });

  it('spreads order discounts over the lines', () => {
    const r = run(order([line('a', 1, 6000), line('b', 1, 4000)], { discountMinor: 1000 }), [perDollar]);
    expect(total(r)).toBe(90);
    expect(r.items[0]!.attribution.lines).toEqual([54, 36]);
  });

  it('refuses below the minimum order value, with the reason', () => {
    const r = run(order([line('a', 1, 900)]), [rule('base_rate', { points: 1, perAmountMinor: 100, conditions: { minOrderMinor: 1000 } })]);
    expect(r.items).toEqual([]);
    expect(r.notApplied[0]!.reason).toBe('order value 9.00 USD is below the minimum of 10.00 USD');
  });

  it('says when an order rounds to nothing', () => {
    const r = run(order([line('a', 1, 99)]), [perDollar]);
    expect(r.items).toEqual([]);
    expect(r.notApplied[0]!.reason).toMatch(/rounds to 0 points/);
  });

  it('handles amounts whose product exceeds 2^53 exactly', () => {
    const r = run(order([line('a', 1_000, 900_000_000)]), [rule('base_rate', { points: 1000, perAmountMinor: 7 })]);
    // 9e11 minor × 1000 / 7 = 128571428571428.57… → floor
    expect(total(r)).toBe(128_571_428_571_428);
  });
});

describe('evaluateOrder: multipliers and extra points', () => {
  const base = rule('base_rate', { points: 1, perAmountMinor: 100 }, { name: 'Per dollar' });

  it('doubles base points on club goods only', () => {
    const club = rule('multiplier', { percent: 200, lines: { tags: ['club'] } }, { name: 'Club goods ×2' });
    const r = run(order([line('tv', 1, 50000, { tags: ['club'] }), line('cable', 1, 2000)]), [base, club]);
    expect(total(r)).toBe(520 + 500);
    const item = r.items.find((i) => i.name === 'Club goods ×2')!;
    expect(item.points).toBe(500);
    expect(item.attribution.lines).toEqual([500, 0]);
  });

  it('scales base points by the tier’s own earning multiplier (a ladder benefit), rounding once', () => {
    const o = order([line('a', 1, 10050)]);
    const vib = run(o, [base], ctx({ member: { tierCode: 'vib', tierMultiplierBp: 15_000, tags: [], attributes: {}, birthday: null, locale: null } }));
    expect(total(vib)).toBe(150); // floor(100.5) = 100 base points, ×1.5
    expect(vib.items[0]!.why).toContain('×1.5 for tier vib');
    const plain = run(o, [base], ctx({ member: { tierCode: 'insider', tierMultiplierBp: 10_000, tags: [], attributes: {}, birthday: null, locale: null } }));
    expect(total(plain)).toBe(100);
  });

  it('applies a tier multiplier to the member’s tier only', () => {
    const gold = rule('multiplier', { percent: 200, conditions: { tiers: ['gold'] } }, { name: 'Gold ×2' });
    const silver = rule('multiplier', { percent: 150, conditions: { tiers: ['silver'] } }, { name: 'Silver +50%' });
    const o = order([line('a', 1, 10000)]);
    const asGold = run(o, [base, gold, silver], ctx({ member: { tierCode: 'gold', tags: [], attributes: {}, birthday: null, locale: null } }));
    expect(total(asGold)).toBe(200);
    expect(asGold.notApplied.map((n) => n.reason)).toEqual(['only for tiers silver (member’s tier: gold)']);
    const untiered = run(o, [base, gold]);
    expect(total(untiered)).toBe(100);
    expect(untiered.notApplied[0]!.reason).toBe('only for tiers gold (member’s tier: none)');
  });

  it('stacks multipliers additively on the base', () => {
    const r = run(order([line('a', 1, 10000)]), [base, rule('multiplier', { percent: 200 }), rule('multiplier', { percent: 150 })]);
    expect(total(r)).toBe(100 + 100 + 50);
  });

  it('needs base points earlier in priority, and says so', () => {
    const early = rule('multiplier', { percent: 200 }, { priority: 10 });
    const r = run(order([line('a', 1, 10000)]), [base, early]);
    expect(total(r)).toBe(100);
    expect(r.notApplied[0]!.reason).toMatch(/no base-rate points in wallet "points" before this rule/);
  });

  it('gives extra points per unit, per order and per amount', () => {
    const o = order([line('shoe', 3, 5000, { categories: ['shoes'] }), line('sock', 2, 500)]);
    expect(total(run(o, [rule('extra_points', { points: 25, per: 'unit', lines: { categories: ['shoes'] } })]))).toBe(75);
    const perOrder = run(o, [rule('extra_points', { points: 100, per: 'order' })]);
    expect(perOrder.items[0]!.attribution).toEqual({ lines: [], order: 100 });
    expect(total(run(o, [rule('extra_points', { points: 2, per: 'amount', perAmountMinor: 100, lines: { skus: ['SOCK'] } })]))).toBe(20);
    const none = run(o, [rule('extra_points', { points: 5, per: 'unit', lines: { categories: ['hats'] } })]);
    expect(none.notApplied[0]!.reason).toBe('no line of categories hats');
  });

  it('attributes an order bonus for matching free items by quantity', () => {
    const r = run(order([line('free', 2, 0, { tags: ['promo'] }), line('a', 1, 1000)]), [rule('extra_points', { points: 10, per: 'order', lines: { tags: ['promo'] } })]);
    expect(r.items[0]!.attribution).toEqual({ lines: [10, 0], order: 0 });
  });
});

describe('evaluateOrder: bonus windows in the program time zone', () => {
  const base = rule('base_rate', { points: 1, perAmountMinor: 100 });
  const o = order([line('a', 1, 10000)]);

  it('applies on listed local dates, weekdays and hours', () => {
    expect(total(run(o, [base, rule('multiplier', { percent: 300, conditions: { dates: [{ from: '2025-03-14', to: '2025-03-14' }] } })]))).toBe(300);
    expect(total(run(o, [base, rule('multiplier', { percent: 300, conditions: { weekdays: [5] } })]))).toBe(300);
    const weekend = run(o, [base, rule('multiplier', { percent: 300, conditions: { weekdays: [6, 7] } })]);
    expect(weekend.notApplied[0]!.reason).toBe('only on Saturday, Sunday (it is Friday)');
    // 11:00 local, not 15:00 UTC
    expect(total(run(o, [base, rule('multiplier', { percent: 200, conditions: { hours: { from: '10:00', to: '12:00' } } })]))).toBe(200);
    expect(run(o, [base, rule('multiplier', { percent: 200, conditions: { hours: { from: '14:00', to: '16:00' } } })]).notApplied[0]!.reason).toBe('only between 14:00–16:00 local time (it is 11:00)');
  });

  it('uses the local date near midnight', () => {
    // 2025-03-15T03:30Z is still March 14 in New York.
    const late = order([line('a', 1, 10000)], { placedAt: new Date('2025-03-15T03:30:00Z') });
    const friday = rule('extra_points', { points: 50, per: 'order', conditions: { dates: [{ from: '2025-03-14', to: '2025-03-14' }] } });
    expect(total(run(late, [friday]))).toBe(50);
    expect(total(run(late, [friday], ctx({ timeZone: 'UTC' })))).toBe(0);
  });

  it('wraps an hour window past midnight', () => {
    const night = rule('extra_points', { points: 5, per: 'order', conditions: { hours: { from: '22:00', to: '02:00' } } });
    expect(total(run(order([line('a', 1, 100)], { placedAt: new Date('2025-03-15T05:30:00Z') }), [night]))).toBe(5); // 01:30 local
    expect(total(run(order([line('a', 1, 100)], { placedAt: new Date('2025-03-15T07:30:00Z') }), [night]))).toBe(0); // 03:30 local
  });

  it('knows the first and the nth order', () => {
    const first = rule('extra_points', { points: 200, per: 'order', conditions: { orderNumber: { equals: 1 } } });
    const everyThird = rule('extra_points', { points: 30, per: 'order', conditions: { orderNumber: { every: 3 } } });
    expect(total(run(o, [first, everyThird], ctx({ orderNumber: 1 })))).toBe(200);
    const second = run(o, [first, everyThird], ctx({ orderNumber: 2 }));
    expect(second.notApplied.map((n) => n.reason)).toEqual(['only for the first order (this is order 2)', 'only for every 3rd order (this is order 2)']);
    expect(total(run(o, [first, everyThird], ctx({ orderNumber: 6 })))).toBe(30);
  });
});

describe('evaluateOrder: member conditions', () => {
  const bonus = (conditions: RuleConfig['conditions']) => rule('extra_points', { points: 10, per: 'order', conditions });
  const o = order([line('a', 1, 1000)]);
  const m = (extra: Partial<NonNullable<EvaluationContext['member']>>) => ctx({ member: { tierCode: null, tags: [], attributes: {}, birthday: null, locale: null, ...extra } });

  it('matches tags, attributes, birthday month and locale', () => {
    expect(total(run(o, [bonus({ memberTags: ['vip'] })], m({ tags: ['vip', 'x'] })))).toBe(10);
    expect(total(run(o, [bonus({ memberTags: ['vip'] })], m({ tags: ['x'] })))).toBe(0);
    expect(total(run(o, [bonus({ memberAttributes: { segment: ['runner', 'hiker'] } })], m({ attributes: { segment: 'runner' } })))).toBe(10);
    expect(total(run(o, [bonus({ memberAttributes: { interests: 'yoga' } })], m({ attributes: { interests: ['yoga', 'tea'] } })))).toBe(10);
    expect(total(run(o, [bonus({ memberAttributes: { kids: 2 } })], m({ attributes: { kids: '2' } })))).toBe(0);
    expect(total(run(o, [bonus({ birthdayMonth: true })], m({ birthday: '1990-03-30' })))).toBe(10);
    expect(run(o, [bonus({ birthdayMonth: true })], m({ birthday: '1990-04-01' })).notApplied[0]!.reason).toBe('only in the member’s birthday month');
    expect(total(run(o, [bonus({ locales: ['ko'] })], m({ locale: 'ko-KR' })))).toBe(10);
    expect(total(run(o, [bonus({ locales: ['ko'] })], m({ locale: 'kok' })))).toBe(0);
  });

  it('does not apply member conditions without a member', () => {
    expect(run(o, [bonus({ memberTags: ['vip'] })], ctx({ member: null })).notApplied[0]!.reason).toBe('needs a known member');
  });

  it('matches stores and channels', () => {
    expect(total(run(o, [bonus({ channels: ['pos'] })]))).toBe(0);
    expect(total(run({ ...o, channel: 'pos' }, [bonus({ channels: ['pos'] })]))).toBe(10);
    expect(run(o, [bonus({ stores: ['outlet'] })]).notApplied[0]!.reason).toBe('only for stores outlet (this is web)');
  });
});

describe('evaluateOrder: caps, priorities and stop', () => {
  const base = rule('base_rate', { points: 1, perAmountMinor: 100 });

  it('caps per order and per member per period', () => {
    const capped = rule('base_rate', { points: 10, perAmountMinor: 100, caps: { perOrder: 500 } });
    const r = run(order([line('a', 1, 10000), line('b', 1, 10000)]), [capped]);
    expect(total(r)).toBe(500);
    expect(r.items[0]!.why).toMatch(/capped at 500 per order/);
    expect(r.items[0]!.attribution.lines.reduce((s, v) => s + v, 0)).toBe(500);
    const monthly = rule('extra_points', { points: 100, per: 'order', caps: { perMember: { points: 250, period: 'month' } } });
    expect(total(run(order([line('a', 1, 100)]), [monthly], ctx({ capUsage: { [monthly.ruleId]: 200 } })))).toBe(50);
    const full = run(order([line('a', 1, 100)]), [monthly], ctx({ capUsage: { [monthly.ruleId]: 250 } }));
    expect(full.notApplied[0]!.reason).toBe('member cap of 250 per month already reached');
  });

  it('stops further rules after a rule that says so, and explains it', () => {
    const blackFriday = rule('multiplier', { percent: 300 }, { name: 'Black Friday ×3', priority: 150, stopFurther: true });
    const club = rule('multiplier', { percent: 200 }, { name: 'Club', priority: 200 });
    const r = run(order([line('a', 1, 10000)]), [base, club, blackFriday]);
    expect(total(r)).toBe(300);
    expect(r.notApplied).toEqual([expect.objectContaining({ name: 'Club', reason: 'stopped by rule "Black Friday ×3", which comes first and stops further rules' })]);
  });

  it('does not stop anything when the stopping rule does not apply', () => {
    const weekendOnly = rule('multiplier', { percent: 300, conditions: { weekdays: [6] } }, { priority: 150, stopFurther: true });
    expect(total(run(order([line('a', 1, 10000)]), [base, weekendOnly, rule('multiplier', { percent: 200 })]))).toBe(200);
  });
});

describe('evaluateOrder: cashback, thresholds, challenges, pending', () => {
  it('puts 3 % cashback into the cashback wallet', () => {
    const r = run(order([line('a', 1, 12345)]), [rule('cashback', { rateBasisPoints: 300 })]);
    expect(total(r, 'cashback')).toBe(370);
    expect(r.items[0]!.wallet).toBe('cashback');
    expect(r.items[0]!.pending).toEqual({ days: 0, from: 'paid' });
  });

  it('reports threshold spend and challenge counts as contributions, not points', () => {
    const threshold = rule('threshold', { everyAmountMinor: 5000, points: 100 });
    const challenge = rule('challenge', { target: 3, period: 'week', points: 50, counts: { type: 'orders', minOrderMinor: 1500 } });
    const r = run(order([line('a', 1, 1200), line('b', 1, 2000)]), [threshold, challenge]);
    expect(r.items).toEqual([]);
    expect(r.contributions.map((c) => [c.kind, c.periodKey, c.amountMinor, c.minOrderMinor])).toEqual([
      ['threshold', 'lifetime', 3200, 0],
      ['challenge', 'week:2025-W11', 3200, 1500],
    ]);
    const small = run(order([line('a', 1, 1000)]), [challenge]);
    expect(small.notApplied[0]!.reason).toBe('10.00 USD is below the 15.00 USD an order needs to count');
  });

  it('takes pending days from the rule, else the wallet, and the basis from the rule, else the program', () => {
    const r = run(order([line('a', 1, 1000)]), [
      rule('base_rate', { points: 1, perAmountMinor: 100 }),
      rule('extra_points', { points: 5, per: 'order', pending: { days: 30, from: 'fulfilled' } }),
    ]);
    expect(r.items.map((i) => i.pending)).toEqual([{ days: 14, from: 'paid' }, { days: 30, from: 'fulfilled' }]);
  });

  it('is deterministic and keeps line attributions summing to the points', () => {
    const rules = [
      rule('base_rate', { points: 3, perAmountMinor: 100, rounding: 'round' }),
      rule('multiplier', { percent: 175, lines: { tags: ['t1'] } }),
      rule('cashback', { rateBasisPoints: 250 }),
    ];
    const lines = Array.from({ length: 7 }, (_, i) => line(`l${i}`, 1 + (i % 3), 333 + i * 977, { tags: i % 2 ? ['t1'] : [] }));
    const o = order(lines, { discountMinor: 1234 });
    const a = run(o, rules);
    expect(run(o, rules)).toEqual(a);
    for (const item of a.items) {
      expect(item.attribution.lines.reduce((s, v) => s + v, 0) + item.attribution.order).toBe(item.points);
    }
  });
});
