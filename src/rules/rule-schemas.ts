import { Type, type TLiteral } from '@sinclair/typebox';

/** A union of string literals whose static type is the union of the values. */
export function oneOf<const T extends string>(values: readonly T[], options: { description?: string } = {}) {
  return Type.Union(values.map((v) => Type.Literal(v)) as TLiteral<T>[], options);
}
import { Metadata, Nullable, Timestamp, Uuid } from '../http/schemas.ts';

const Text = Type.String({ minLength: 1, maxLength: 255 });
const TextList = Type.Array(Text, { maxItems: 1000 });
const PeriodSchema = oneOf(['day', 'week', 'month', 'year', 'lifetime'], { description: 'Calendar period in the program’s time zone (weeks start on Monday)' });
const KindSchema = oneOf(['base_rate', 'multiplier', 'extra_points', 'cashback', 'threshold', 'challenge', 'action']);

const LineMatchSchema = Type.Object({
  skus: Type.Optional(TextList), productIds: Type.Optional(TextList), categories: Type.Optional(TextList), tags: Type.Optional(TextList),
}, { additionalProperties: false, description: 'Products: a line matches when any listed value matches' });

const ConditionsSchema = Type.Object({
  stores: Type.Optional(TextList),
  channels: Type.Optional(TextList),
  minOrderMinor: Type.Optional(Type.Integer({ description: 'Merchandise after discounts, minor units' })),
  dates: Type.Optional(Type.Array(Type.Object({ from: Type.String(), to: Type.String() }, { additionalProperties: false }), { description: 'Local dates YYYY-MM-DD, both included' })),
  weekdays: Type.Optional(Type.Array(Type.Integer(), { description: 'ISO weekdays: 1 = Monday … 7 = Sunday' })),
  hours: Type.Optional(Type.Object({ from: Type.String(), to: Type.String() }, { additionalProperties: false, description: 'Local "HH:MM"; from included, to excluded; wraps midnight when from > to' })),
  orderNumber: Type.Optional(Type.Object({ equals: Type.Optional(Type.Integer()), every: Type.Optional(Type.Integer()) }, { additionalProperties: false, description: 'equals 1: the member’s first order; every 5: each fifth order' })),
  tiers: Type.Optional(TextList),
  memberTags: Type.Optional(TextList),
  memberAttributes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Attribute → value or list of allowed values' })),
  birthdayMonth: Type.Optional(Type.Boolean()),
  locales: Type.Optional(TextList),
}, { additionalProperties: false });

export const RuleConfigSchema = Type.Object({
  wallet: Type.Optional(Type.String({ description: 'Wallet credited (default "points"; cashback: "cashback")' })),
  conditions: Type.Optional(ConditionsSchema),
  caps: Type.Optional(Type.Object({
    perOrder: Type.Optional(Type.Integer()),
    perMember: Type.Optional(Type.Object({ points: Type.Integer(), period: PeriodSchema }, { additionalProperties: false })),
  }, { additionalProperties: false })),
  pending: Type.Optional(Type.Object({
    days: Type.Optional(Type.Integer({ description: 'Return window in days (default: the wallet’s pending days)' })),
    from: Type.Optional(Type.Union([Type.Literal('paid'), Type.Literal('fulfilled')], { description: 'Counted from the paid or the fulfilled event (default: earning settings)' })),
  }, { additionalProperties: false })),
  rounding: Type.Optional(Type.Union([Type.Literal('floor'), Type.Literal('round'), Type.Literal('ceil')], { description: 'Default floor' })),
  includeShipping: Type.Optional(Type.Boolean()),
  includeTax: Type.Optional(Type.Boolean()),
  excludeGiftCards: Type.Optional(Type.Boolean({ description: 'Default true' })),
  excludePaidWithPoints: Type.Optional(Type.Boolean({ description: 'Default true: the part paid with points earns nothing' })),
  lines: Type.Optional(LineMatchSchema),
  exclude: Type.Optional(LineMatchSchema),
  points: Type.Optional(Type.Integer()),
  perAmountMinor: Type.Optional(Type.Integer()),
  per: Type.Optional(Type.Union([Type.Literal('order'), Type.Literal('unit'), Type.Literal('amount')])),
  percent: Type.Optional(Type.Integer({ description: 'Multiplier in percent: 200 = ×2, 150 = +50 %' })),
  rateBasisPoints: Type.Optional(Type.Integer({ description: 'Cashback rate: 300 = 3 %' })),
  everyAmountMinor: Type.Optional(Type.Integer()),
  period: Type.Optional(PeriodSchema),
  target: Type.Optional(Type.Integer()),
  counts: Type.Optional(Type.Object({
    type: Type.Union([Type.Literal('orders'), Type.Literal('action')]), action: Type.Optional(Type.String()), minOrderMinor: Type.Optional(Type.Integer()),
  }, { additionalProperties: false })),
  repeat: Type.Optional(Type.Boolean()),
  action: Type.Optional(Type.String()),
  perUnit: Type.Optional(Type.Object({ points: Type.Integer(), quantity: Type.Integer() }, { additionalProperties: false })),
  limits: Type.Optional(Type.Array(Type.Object({ count: Type.Integer(), period: PeriodSchema }, { additionalProperties: false }))),
}, { additionalProperties: false, description: 'Fields depend on the kind; see docs/rules.md' });

const ruleFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'Lower runs first (defaults: base_rate 100, multiplier 200, extra_points 300, cashback 400, threshold 500, challenge 600, action 100)' })),
  stopFurtherRules: Type.Optional(Type.Boolean({ description: 'When this rule applies, later rules (higher priority numbers) do not' })),
  enabled: Type.Optional(Type.Boolean({ description: 'false: this version switches the rule off from effectiveFrom' })),
  effectiveFrom: Type.Optional(Type.String({ format: 'date-time', description: 'Now or later (default now)' })),
  config: RuleConfigSchema,
};

export const CreateRuleBody = Type.Object({ kind: KindSchema, ...ruleFields }, { additionalProperties: false });
export const UpdateRuleBody = Type.Object({ kind: Type.Optional(KindSchema), ...ruleFields }, { additionalProperties: false });

const VersionSchema = Type.Object({
  version: Type.Integer(), effectiveFrom: Timestamp, enabled: Type.Boolean(), name: Type.String(), priority: Type.Integer(),
  stopFurtherRules: Type.Boolean(), config: Metadata, createdBy: Type.String(), createdAt: Timestamp,
});

export const RuleSchema = Type.Object({
  id: Uuid, kind: Type.String(), status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('scheduled')]),
  current: Nullable(VersionSchema), scheduled: Type.Array(VersionSchema), versions: Type.Array(VersionSchema),
});

export const RuleKindQuery = Type.Optional(KindSchema);

export const BreakdownItemSchema = Type.Object({
  ruleId: Uuid, version: Type.Integer(), name: Type.String(), kind: Type.String(), wallet: Type.String(),
  points: Type.Integer({ description: 'Points this rule gives now (after refunds, for orders)' }),
  grossPoints: Type.Optional(Type.Integer({ description: 'Before refunds' })),
  why: Type.String(),
  pending: Type.Optional(Type.Object({ days: Type.Integer(), from: Type.String() })),
  lines: Type.Optional(Type.Array(Type.Object({ lineId: Type.String(), points: Type.Integer() }))),
});

export const SkippedSchema = Type.Object({ ruleId: Uuid, version: Type.Integer(), name: Type.String(), kind: Type.String(), reason: Type.String() });

export const SettingsSchema = Type.Object({
  claimWindowDays: Type.Integer({ minimum: 0, maximum: 3650, description: 'Orders placed up to this many days before a shopper joins earn for them (default 30)' }),
  pendingFrom: Type.Union([Type.Literal('paid'), Type.Literal('fulfilled')], { description: 'Default start of the return window (pending period): the paid or the fulfilled event' }),
});

const PreviewLine = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 255 }), sku: Type.Optional(Text), productId: Type.Optional(Text),
  categories: Type.Optional(Type.Array(Text, { maxItems: 50 })), tags: Type.Optional(Type.Array(Text, { maxItems: 50 })),
  quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }), unitPriceMinor: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }),
  discountMinor: Type.Optional(Type.Integer({ minimum: 0 })), giftCard: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export const PreviewBody = Type.Object({
  memberId: Type.Optional(Uuid),
  store: Type.Optional(Text),
  channel: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  cart: Type.Optional(Type.Object({
    lines: Type.Array(PreviewLine, { minItems: 1, maxItems: 500 }),
    discountMinor: Type.Optional(Type.Integer({ minimum: 0 })), shippingMinor: Type.Optional(Type.Integer({ minimum: 0 })),
    taxMinor: Type.Optional(Type.Integer({ minimum: 0 })), paidWithPointsMinor: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false })),
  product: Type.Optional(Type.Object({
    sku: Type.Optional(Text), productId: Type.Optional(Text), categories: Type.Optional(Type.Array(Text, { maxItems: 50 })),
    tags: Type.Optional(Type.Array(Text, { maxItems: 50 })), quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    unitPriceMinor: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000 }), giftCard: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export const PreviewSchema = Type.Object({
  at: Timestamp, memberId: Nullable(Uuid), points: Type.Record(Type.String(), Type.Integer()),
  breakdown: Type.Array(BreakdownItemSchema), notApplied: Type.Array(SkippedSchema),
  progress: Type.Array(Type.Object({
    ruleId: Uuid, name: Type.String(), kind: Type.String(), periodKey: Type.String(), wallet: Type.String(), before: Type.Integer(), after: Type.Integer(),
    goal: Type.Integer(), bonusPoints: Type.Integer(), toNext: Nullable(Type.Integer()),
  })),
});

const ProgressItem = Type.Object({
  ruleId: Uuid, name: Type.String(), kind: Type.String(), periodKey: Type.String(), wallet: Type.String(), counts: Type.String(),
  progress: Type.Integer(), goal: Type.Integer(), reached: Type.Integer(), points: Type.Integer(), toNext: Nullable(Type.Integer()), complete: Type.Boolean(),
});
export const ProgressSchema = Type.Object({ current: Type.Array(ProgressItem), past: Type.Array(ProgressItem) });

export const AwardSchema = Type.Object({
  operationId: Uuid, wallet: Type.String(), amount: Type.Integer(), reversed: Type.Integer(), pending: Type.Boolean(), vestsAt: Nullable(Timestamp),
  source: Type.Object({ type: Type.String(), id: Nullable(Uuid), orderId: Type.Optional(Nullable(Type.String())), actionType: Type.Optional(Nullable(Type.String())) }),
  component: Type.String(),
  breakdown: Type.Array(BreakdownItemSchema),
  reversals: Type.Array(Type.Object({ operationId: Uuid, amount: Type.Integer(), description: Nullable(Type.String()), createdAt: Timestamp })),
  createdAt: Timestamp,
});
