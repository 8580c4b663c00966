import { Type } from '@sinclair/typebox';
import { Amount, Metadata, Nullable, Timestamp, Uuid, WalletCode } from '../http/schemas.ts';
import { WEEKDAY_NAMES } from './reward-availability.ts';

const lit = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const RewardKindSchema = lit(['fixed_amount', 'percentage', 'free_shipping', 'free_product', 'store_credit', 'gift_note', 'donation', 'experience', 'custom'] as const);
export const RewardStatusSchema = lit(['active', 'paused', 'archived'] as const);
export const VisibilitySchema = lit(['public', 'hidden'] as const);
export const LimitPeriodSchema = lit(['day', 'week', 'month', 'year', 'lifetime'] as const);
export const WeekdaySchema = lit(WEEKDAY_NAMES);
export const VoucherStatusSchema = lit(['issued', 'consumed', 'expired', 'cancelled'] as const);
const RewardCode = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Your own stable key for the reward, e.g. "note-20"' });
const TierCode = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$', description: 'A tier code (see docs/tiers.md)' });
const Locale = Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', maxLength: 35 });
const Points = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Minor = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const LocaleTextSchema = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
  terms: Type.Optional(Type.String({ maxLength: 5000 })),
}, { additionalProperties: false });

export const ImageSchema = Type.Object({
  url: Type.String({ format: 'uri', maxLength: 2000 }),
  alt: Type.Optional(Type.String({ maxLength: 500 })),
  locale: Type.Optional(Locale),
}, { additionalProperties: false });

export const BenefitSchema = Type.Object({
  amountOffMinor: Type.Optional(Amount),
  percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  maxDiscountMinor: Type.Optional(Amount),
  minimumOrderMinor: Type.Optional(Amount),
  maxShippingMinor: Type.Optional(Amount),
  sku: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  quantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  wallet: Type.Optional(WalletCode),
  amount: Type.Optional(Amount),
  cause: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' })),
  eventAt: Type.Optional(Type.String({ format: 'date-time' })),
  location: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  instructions: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
}, {
  additionalProperties: false,
  description: 'By kind — fixed_amount, gift_note: amountOffMinor (+minimumOrderMinor); percentage: percent (+maxDiscountMinor, minimumOrderMinor); ' +
    'free_shipping: (maxShippingMinor, minimumOrderMinor); free_product: sku (+quantity); store_credit: wallet, amount; donation: cause; ' +
    'experience: (eventAt, location); custom: (instructions)',
});

const CodeFormatSchema = Type.Object({
  prefix: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{0,12}$' })),
  groups: Type.Optional(Type.Integer({ minimum: 1, maximum: 8 })),
  groupLength: Type.Optional(Type.Integer({ minimum: 2, maximum: 16 })),
  separator: Type.Optional(lit(['', '-'] as const)),
}, { additionalProperties: false, description: 'Generated codes: prefix + groups of random symbols (no 0/O, 1/I); 10 to 32 random symbols in all' });

const rewardFields = {
  code: Type.Optional(Nullable(RewardCode)),
  status: Type.Optional(RewardStatusSchema),
  visibility: Type.Optional(VisibilitySchema),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  texts: Type.Optional(Type.Record(Locale, LocaleTextSchema, { maxProperties: 50, description: 'Name, description and terms per locale (en, ko, ja, zh-Hant, th…)' })),
  images: Type.Optional(Type.Array(ImageSchema, { maxItems: 20 })),
  wallet: Type.Optional(WalletCode),
  costPoints: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Price in points of the wallet; for donations the step members donate in' }),
  tierCosts: Type.Optional(Type.Record(TierCode, Points, { description: 'Price per tier code, overriding costPoints' })),
  allowedTiers: Type.Optional(Nullable(Type.Array(TierCode, { maxItems: 20, description: 'Only members in one of these tiers may redeem; null: everyone' }))),
  benefit: Type.Optional(BenefitSchema),
  availability: Type.Optional(Type.Object({
    startsAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
    endsAt: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
    weekdays: Type.Optional(Nullable(Type.Array(WeekdaySchema, { minItems: 1, maxItems: 7, uniqueItems: true, description: 'Open on these days in the program time zone' }))),
  }, { additionalProperties: false })),
  stock: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 2_147_483_647, description: 'Total units; null: unlimited' }))),
  limit: Type.Optional(Nullable(Type.Object({ count: Type.Integer({ minimum: 1, maximum: 1_000_000 }), period: LimitPeriodSchema }, { additionalProperties: false, description: 'Per member, per calendar period in the program time zone' }))),
  voucher: Type.Optional(Type.Object({
    validityDays: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 3650 }))),
    codeSource: Type.Optional(lit(['generated', 'pool'] as const)),
    codeFormat: Type.Optional(CodeFormatSchema),
    refundOnExpiry: Type.Optional(Type.Boolean({ description: 'Points back when the voucher expires unused (default false)' })),
    refundOnCancel: Type.Optional(Type.Boolean({ description: 'Points back when the unused voucher is cancelled (default true)' })),
    usage: Type.Optional(lit(['any', 'renewal'] as const)),
  }, { additionalProperties: false })),
  autoIssue: Type.Optional(Type.Boolean({ description: 'gift_note only: issued automatically when the balance reaches costPoints' })),
};

export const CreateRewardBody = Type.Object({ kind: RewardKindSchema, ...rewardFields }, { additionalProperties: false });
export const PatchRewardBody = Type.Partial(Type.Object(rewardFields, { additionalProperties: false }), { additionalProperties: false });

export const RewardSchema = Type.Object({
  id: Uuid, code: Nullable(Type.String()), kind: RewardKindSchema, status: RewardStatusSchema, visibility: VisibilitySchema,
  name: Type.String(), description: Nullable(Type.String()), texts: Type.Record(Type.String(), LocaleTextSchema), images: Type.Array(ImageSchema),
  wallet: Type.String(), costPoints: Type.Integer(), tierCosts: Type.Record(Type.String(), Type.Integer()), allowedTiers: Nullable(Type.Array(Type.String())),
  benefit: Metadata,
  availability: Type.Object({ startsAt: Nullable(Timestamp), endsAt: Nullable(Timestamp), weekdays: Nullable(Type.Array(WeekdaySchema)) }),
  stock: Nullable(Type.Object({ total: Type.Integer(), remaining: Type.Integer(), issued: Type.Integer() })),
  limit: Nullable(Type.Object({ count: Type.Integer(), period: LimitPeriodSchema })),
  voucher: Type.Object({
    validityDays: Nullable(Type.Integer()), codeSource: Type.String(), codeFormat: Metadata,
    refundOnExpiry: Type.Boolean(), refundOnCancel: Type.Boolean(), usage: Type.String(),
  }),
  autoIssue: Type.Boolean(),
  codePool: Nullable(Type.Object({ available: Type.Integer(), assigned: Type.Integer() })),
  createdAt: Timestamp, updatedAt: Timestamp,
});

export const VoucherSchema = Type.Object({
  id: Uuid, code: Type.String(), status: VoucherStatusSchema, kind: RewardKindSchema, benefit: Metadata,
  reward: Type.Object({ id: Uuid, code: Nullable(Type.String()), name: Type.String() }),
  redemptionId: Uuid, memberId: Uuid, renewalOnly: Type.Boolean(), subscriptionId: Nullable(Type.String()),
  validFrom: Timestamp, expiresAt: Nullable(Timestamp), orderId: Nullable(Type.String()), discountMinor: Nullable(Type.Integer()),
  consumedAt: Nullable(Timestamp), resolvedAt: Nullable(Timestamp), createdAt: Timestamp,
});

export const RedemptionSchema = Type.Object({
  id: Uuid,
  reward: Type.Object({ id: Uuid, code: Nullable(Type.String()), name: Type.String(), kind: RewardKindSchema }),
  memberId: Uuid, wallet: Type.String(), points: Type.Integer(), refundedPoints: Type.Integer(),
  status: lit(['completed', 'requested', 'fulfilled', 'cancelled'] as const), tier: Nullable(Type.String()),
  spendOperationId: Nullable(Uuid), creditOperationId: Nullable(Uuid), details: Metadata, note: Nullable(Type.String()),
  voucher: Nullable(VoucherSchema), actor: Type.String(), createdAt: Timestamp, resolvedAt: Nullable(Timestamp),
});

export const RedeemResponse = Type.Intersect([RedemptionSchema, Type.Object({
  donation: Nullable(Type.Object({ cause: Type.String(), points: Type.Integer(), causeTotal: Type.Integer(), causeDonations: Type.Integer() })),
})]);

export const MemberCatalogSchema = Type.Object({
  memberId: Uuid, tier: Nullable(Type.String()), locale: Nullable(Type.String()),
  data: Type.Array(Type.Object({
    reward: Type.Object({
      id: Uuid, code: Nullable(Type.String()), kind: RewardKindSchema, name: Type.String(), description: Nullable(Type.String()), terms: Nullable(Type.String()),
      locale: Nullable(Type.String()), images: Type.Array(ImageSchema), wallet: Type.String(), benefit: Metadata,
      availability: Type.Object({ startsAt: Nullable(Timestamp), endsAt: Nullable(Timestamp), weekdays: Nullable(Type.Array(WeekdaySchema)) }),
      stockRemaining: Nullable(Type.Integer()),
    }),
    costPoints: Type.Integer(), availablePoints: Type.Integer(), missingPoints: Type.Integer({ description: 'Points still needed; 0 when affordable' }),
    redeemableNow: Type.Boolean(),
    blockers: Type.Array(Type.Object({ code: Type.String(), detail: Type.String(), nextOpensAt: Type.Optional(Nullable(Timestamp)) })),
  })),
});

export const DonationTotalsSchema = Type.Object({
  data: Type.Array(Type.Object({ cause: Type.String(), points: Type.Integer(), donations: Type.Integer(), donors: Type.Integer(), updatedAt: Timestamp })),
});

// ---------------------------------------------------------------- checkout

export const CartSchema = Type.Object({
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
  subtotalMinor: Minor,
  shippingMinor: Type.Optional(Minor),
  items: Type.Optional(Type.Array(Type.Object({
    sku: Type.String({ minLength: 1, maxLength: 255 }), quantity: Type.Integer({ minimum: 1, maximum: 100_000 }), unitPriceMinor: Minor,
  }, { additionalProperties: false }), { maxItems: 500 })),
  renewal: Type.Optional(Type.Boolean({ description: 'The order renews a subscription' })),
  subscriptionId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
}, { additionalProperties: false });

export const DiscountSchema = Type.Object({
  amountMinor: Type.Integer(), freeShipping: Type.Boolean(),
  freeItems: Type.Array(Type.Object({ sku: Type.String(), quantity: Type.Integer(), amountMinor: Type.Integer() })),
});

export const VoucherCode = Type.String({ minLength: 4, maxLength: 64 });
export const OrderId = Type.String({ minLength: 1, maxLength: 255, description: 'The shop’s order id' });

export const PointsPaymentSchema = Type.Object({
  id: Uuid, orderId: Type.String(), memberId: Uuid, wallet: Type.String(),
  status: lit(['reserved', 'captured', 'cancelled', 'expired'] as const),
  points: Type.Integer(), amountMinor: Type.Integer(), orderTotalMinor: Type.Integer(),
  capturedPoints: Type.Integer(), capturedMinor: Type.Integer(), refundedMinor: Type.Integer(), restoredPoints: Type.Integer(),
  reservationId: Uuid, postOperationId: Nullable(Uuid), expiresAt: Timestamp, createdAt: Timestamp, updatedAt: Timestamp,
});

export const PointsPaymentSettingsSchema = Type.Object({
  wallet: Type.String(), enabled: Type.Boolean(), ratePoints: Type.Integer(), rateAmountMinor: Type.Integer(),
  minimumPoints: Type.Integer(), maxSharePercent: Type.Integer(), timeoutMs: Type.Integer(), updatedAt: Timestamp,
});
