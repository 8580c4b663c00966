import { weekdayNames } from './reward-availability.ts';
import type { RedemptionRow, RewardRow, VoucherRow } from './reward-repository.ts';

export interface LocaleText {
  name?: string;
  description?: string;
  terms?: string;
}

export interface Image {
  url: string;
  alt?: string;
  locale?: string;
}

/** Best text for a locale: exact tag, then its language ("zh-Hant-TW" → "zh-Hant" → "zh"), then the defaults. */
export function localized(row: { name: string; description: string | null; texts: Record<string, unknown> }, locale: string | undefined) {
  const texts = row.texts as Record<string, LocaleText>;
  let text: LocaleText | undefined;
  let used: string | null = null;
  if (locale) {
    const parts = locale.split('-');
    for (let n = parts.length; n > 0 && !text; n--) {
      const tag = parts.slice(0, n).join('-');
      const hit = Object.keys(texts).find((k) => k.toLowerCase() === tag.toLowerCase());
      if (hit) {
        text = texts[hit];
        used = hit;
      }
    }
  }
  return { locale: used, name: text?.name ?? row.name, description: text?.description ?? row.description, terms: text?.terms ?? null };
}

export function rewardView(r: RewardRow, pool?: { available: number; assigned: number }) {
  return {
    id: r.id,
    code: r.code,
    kind: r.kind,
    status: r.status,
    visibility: r.visibility,
    name: r.name,
    description: r.description,
    texts: r.texts as Record<string, LocaleText>,
    images: r.images as Image[],
    wallet: r.wallet_code,
    costPoints: r.cost_points,
    tierCosts: r.tier_costs as Record<string, number>,
    allowedTiers: r.allowed_tiers,
    benefit: r.benefit,
    availability: { startsAt: r.starts_at?.toISOString() ?? null, endsAt: r.ends_at?.toISOString() ?? null, weekdays: weekdayNames(r.weekdays) },
    stock: r.stock_total === null ? null : { total: r.stock_total, remaining: r.stock_remaining!, issued: r.stock_total - r.stock_remaining! },
    limit: r.limit_count === null ? null : { count: r.limit_count, period: r.limit_period! },
    voucher: {
      validityDays: r.voucher_validity_days,
      codeSource: r.code_source,
      codeFormat: r.code_format,
      refundOnExpiry: r.refund_on_expiry,
      refundOnCancel: r.refund_on_cancel,
      usage: r.usage,
    },
    autoIssue: r.auto_issue,
    codePool: r.code_source === 'pool' ? (pool ?? { available: 0, assigned: 0 }) : null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** A voucher past its end but not yet swept by the expiry job reads as expired. */
export function effectiveVoucherStatus(v: Pick<VoucherRow, 'status' | 'expires_at'>, now: Date) {
  return v.status === 'issued' && v.expires_at && v.expires_at <= now ? 'expired' : v.status;
}

export function voucherView(v: VoucherRow, now: Date) {
  return {
    id: v.id,
    code: v.code,
    status: effectiveVoucherStatus(v, now),
    kind: v.kind,
    benefit: v.benefit,
    reward: { id: v.reward_id, code: v.reward_code, name: v.reward_name },
    redemptionId: v.redemption_id,
    memberId: v.member_id,
    renewalOnly: v.renewal_only,
    subscriptionId: v.subscription_id,
    validFrom: v.valid_from.toISOString(),
    expiresAt: v.expires_at?.toISOString() ?? null,
    orderId: v.order_id,
    discountMinor: v.discount_minor,
    consumedAt: v.consumed_at?.toISOString() ?? null,
    resolvedAt: v.resolved_at?.toISOString() ?? null,
    createdAt: v.created_at.toISOString(),
  };
}

export function redemptionView(r: RedemptionRow, voucher: ReturnType<typeof voucherView> | null) {
  return {
    id: r.id,
    reward: { id: r.reward_id, code: r.reward_code, name: r.reward_name, kind: r.kind },
    memberId: r.member_id,
    wallet: r.wallet_code,
    points: r.points,
    refundedPoints: r.refunded_points,
    status: r.status,
    tier: r.tier,
    spendOperationId: r.spend_operation_id,
    creditOperationId: r.credit_operation_id,
    details: r.details,
    note: r.note,
    voucher,
    actor: r.actor,
    createdAt: r.created_at.toISOString(),
    resolvedAt: r.resolved_at?.toISOString() ?? null,
  };
}
