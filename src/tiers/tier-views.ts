import type { TierMetric } from '../db/schema.ts';
import type { TierDefinition } from './tier-ladder.ts';
import type { LadderRow, MembershipRow, TierRow } from './tier-repository.ts';

export function thresholdsOf(t: Pick<TierRow, 'min_net_spend' | 'min_points_earned' | 'min_orders'>): Partial<Record<TierMetric, number>> {
  const out: Partial<Record<TierMetric, number>> = {};
  if (t.min_net_spend !== null) out.net_spend = t.min_net_spend;
  if (t.min_points_earned !== null) out.points_earned = t.min_points_earned;
  if (t.min_orders !== null) out.orders = t.min_orders;
  return out;
}

/** A stored tier as the definition the pure modules work with. */
export function definitionOf(t: TierRow): TierDefinition {
  return {
    code: t.code, name: t.name, description: t.description, rank: t.rank, kind: t.kind, thresholds: thresholdsOf(t),
    priceMinor: t.price_minor, periodMonths: t.period_months, earnMultiplierBp: t.earn_multiplier_bp,
    freeShipping: t.free_shipping, earlyAccess: t.early_access, discountBp: t.discount_bp, perks: t.perks,
    entryReward: t.entry_reward_points !== null && t.entry_reward_wallet !== null ? { points: t.entry_reward_points, wallet: t.entry_reward_wallet } : null,
    birthdayGift: t.birthday_points !== null || t.birthday_reward_code !== null
      ? { points: t.birthday_points, wallet: t.birthday_wallet, rewardCode: t.birthday_reward_code }
      : null,
  };
}

export function benefitsView(t: TierRow) {
  const d = definitionOf(t);
  return {
    earnMultiplierBp: d.earnMultiplierBp,
    freeShipping: d.freeShipping,
    earlyAccess: d.earlyAccess,
    discountBp: d.discountBp,
    perks: d.perks,
    entryReward: d.entryReward,
    birthdayGift: d.birthdayGift,
  };
}

export function tierView(t: TierRow) {
  return {
    code: t.code,
    name: t.name,
    description: t.description,
    kind: t.kind,
    rank: t.rank,
    thresholds: t.kind === 'earned' ? thresholdsOf(t) : null,
    price: t.price_minor !== null && t.period_months !== null ? { amountMinor: t.price_minor, periodMonths: t.period_months } : null,
    benefits: benefitsView(t),
    updatedAt: t.updated_at.toISOString(),
  };
}

export function tierBrief(t: TierRow) {
  return { code: t.code, name: t.name, rank: t.rank, kind: t.kind };
}

export function ladderView(ladder: LadderRow | undefined, tiers: TierRow[]) {
  return {
    configured: ladder !== undefined,
    window: ladder ? { kind: ladder.window_kind, months: ladder.window_months } : null,
    qualification: ladder?.qualification ?? 'any',
    graceDays: ladder?.grace_days ?? 0,
    downgradeOneLevelAtATime: ladder?.downgrade_one_level ?? false,
    refunds: ladder?.refund_downgrade ?? 'at_review',
    tiers: tiers.map(tierView),
    updatedAt: ladder?.updated_at.toISOString() ?? null,
  };
}

export function membershipView(m: MembershipRow, tierCode: string, now: Date) {
  return {
    id: m.id,
    memberId: m.member_id,
    tier: tierCode,
    startsAt: m.starts_at.toISOString(),
    endsAt: m.ends_at.toISOString(),
    status: m.status,
    active: m.status === 'active' && m.starts_at <= now && m.ends_at > now,
    autoRenew: m.auto_renew,
    periods: m.periods,
    priceMinor: m.price_minor,
    reference: m.reference_type && m.reference_id ? { type: m.reference_type, id: m.reference_id } : null,
    cancelledAt: m.cancelled_at?.toISOString() ?? null,
    createdAt: m.created_at.toISOString(),
  };
}

export function historyView(h: { id: number; from_tier: string | null; to_tier: string | null; direction: string; reason: string; details: Record<string, unknown>; actor: string; created_at: Date }) {
  return {
    id: String(h.id),
    from: h.from_tier,
    to: h.to_tier,
    direction: h.direction,
    reason: h.reason,
    details: h.details,
    actor: h.actor,
    at: h.created_at.toISOString(),
  };
}
