/**
 * Benchmark (not a test): the median time to evaluate a 50-line order against 100 active rules.
 * Run it with `npx tsx bench/rules-evaluate.ts`; bench/run.ts calls benchRulesEvaluation().
 * Rules are compiled once, as the server does (compiled versions are cached, versions never change).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { byPriority, compileRule, type CompiledRule } from '../src/rules/compile-rule.ts';
import { evaluateOrder, type EvaluationContext, type OrderInput } from '../src/rules/evaluate-order.ts';
import { DEFAULT_PRIORITY, normalizeRuleConfig, type RuleConfig, type RuleKind } from '../src/rules/rule-config.ts';

const CATEGORIES = ['shoes', 'apparel', 'electronics', 'home', 'beauty', 'toys', 'food', 'books'];
const TAGS = ['club', 'new', 'sale', 'eco', 'premium', 'kids'];

function rules(): CompiledRule[] {
  const configs: [RuleKind, RuleConfig][] = [];
  configs.push(['base_rate', { points: 1, perAmountMinor: 100, exclude: { categories: ['food'] } }]);
  configs.push(['base_rate', { points: 2, perAmountMinor: 100, wallet: 'points', conditions: { channels: ['pos'] } }]);
  for (let i = 0; i < 30; i++) {
    configs.push(['multiplier', {
      percent: 120 + i * 10, lines: { categories: [CATEGORIES[i % CATEGORIES.length]!], tags: [TAGS[i % TAGS.length]!] },
      ...(i % 3 === 0 ? { conditions: { weekdays: [1, 2, 3, 4, 5] } } : i % 3 === 1 ? { conditions: { memberTags: ['vip'] } } : {}),
    }]);
  }
  for (let i = 0; i < 30; i++) {
    const per = (['order', 'unit', 'amount'] as const)[i % 3];
    configs.push(['extra_points', {
      points: 5 + i, per, ...(per === 'amount' ? { perAmountMinor: 500 } : {}),
      ...(per === 'order' ? {} : { lines: { skus: Array.from({ length: 20 }, (_, k) => `SKU-${(i * 7 + k) % 200}`), tags: [TAGS[i % TAGS.length]!] } }),
      conditions: i % 4 === 0 ? { dates: [{ from: '2025-01-01', to: '2025-12-31' }] } : i % 4 === 1 ? { hours: { from: '08:00', to: '22:00' } } : i % 4 === 2 ? { orderNumber: { every: 3 } } : { minOrderMinor: 10_000 },
      caps: { perOrder: 500 },
    }]);
  }
  for (let i = 0; i < 10; i++) configs.push(['cashback', { rateBasisPoints: 100 + i * 25, lines: { categories: [CATEGORIES[i % CATEGORIES.length]!] } }]);
  for (let i = 0; i < 14; i++) configs.push(['threshold', { everyAmountMinor: 5000 * (i + 1), points: 100, exclude: { tags: ['sale'] } }]);
  for (let i = 0; i < 14; i++) configs.push(['challenge', { target: 3, period: 'week', points: 50, counts: { type: 'orders', minOrderMinor: 1000 * (i + 1) } }]);
  return configs.slice(0, 100).map(([kind, config], i) => compileRule({
    ruleId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, version: 1, kind, name: `${kind} ${i}`,
    priority: DEFAULT_PRIORITY[kind] + (i % 10), stopFurther: false, effectiveFrom: new Date('2024-01-01T00:00:00Z'),
    config: normalizeRuleConfig(kind, config),
  })).sort(byPriority);
}

function order(): OrderInput {
  return {
    placedAt: new Date('2025-06-11T15:30:00Z'), store: 'web', channel: 'online', discountMinor: 1500, shippingMinor: 995, taxMinor: 2400, paidWithPointsMinor: 2000,
    lines: Array.from({ length: 50 }, (_, i) => ({
      id: `line-${i}`, sku: `SKU-${i * 3}`, productId: `p-${i}`, categories: [CATEGORIES[i % CATEGORIES.length]!, CATEGORIES[(i + 3) % CATEGORIES.length]!],
      tags: [TAGS[i % TAGS.length]!], quantity: 1 + (i % 4), unitPriceMinor: 499 + i * 137, discountMinor: i % 5 === 0 ? 100 : 0, giftCard: i === 49,
    })),
  };
}

const context: EvaluationContext = {
  member: { tierCode: 'gold', tags: ['vip'], attributes: { segment: 'runner' }, birthday: '1990-06-01', locale: 'en-US' },
  orderNumber: 3, capUsage: {}, timeZone: 'America/New_York', currency: { code: 'USD', exponent: 2 },
  wallets: { points: { pendingDays: 14 }, cashback: { pendingDays: 0 } }, pendingFrom: 'paid',
};

export async function benchRulesEvaluation(options: { runs?: number; warmup?: number } = {}): Promise<{ medianMs: number; p99Ms: number; runs: number }> {
  const runs = options.runs ?? 2000;
  const compiled = rules();
  const input = order();
  let sink = 0;
  for (let i = 0; i < (options.warmup ?? 300); i++) sink += evaluateOrder(input, context, compiled).items.length;
  const times = new Float64Array(runs);
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    sink += evaluateOrder(input, context, compiled).items.length;
    times[i] = performance.now() - start;
  }
  if (sink < 0) throw new Error('unreachable: keeps the evaluation from being optimised away');
  times.sort();
  return { medianMs: times[Math.floor(runs / 2)]!, p99Ms: times[Math.min(runs - 1, Math.floor(runs * 0.99))]!, runs };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sample = evaluateOrder(order(), context, rules());
  const result = await benchRulesEvaluation();
  console.log(`rules evaluation: 50-line order × 100 active rules (${sample.items.length} awarding, ${sample.contributions.length} progress, ${sample.notApplied.length} not applying)`);
  console.log(`  median ${result.medianMs.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms over ${result.runs} runs (target: median < 1 ms)`);
}
