import { databaseNow, type Executor, type Tx } from '../db/database.ts';
import type { TierMetric } from '../db/schema.ts';
import { recordEvent } from '../events/event-repository.ts';
import { invariant, ProblemError } from '../http/error-codes.ts';
import { earn, type LedgerContext, type Reference } from '../ledger/ledger-operations.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import { isEntryTier, isTierMetric, TIER_METRICS, validateLadder, type LadderInput } from './tier-ladder.ts';
import {
  deadlineDate, formatMetric, gapsMet, gapsTo, keepMessage, multiplierText, reachMessage, windowNoun, windowPhrase,
  formatMinor, formatBasisPoints, METRIC_LABELS, type Money,
} from './tier-progress.ts';
import * as repo from './tier-repository.ts';
import type { LadderRow, MemberTierRow, TierChange, TierRow } from './tier-repository.ts';
import { definitionOf, historyView, ladderView, membershipView, thresholdsOf, tierBrief, tierView } from './tier-views.ts';
import { memoizedLadder } from './ladder-memo.ts';
import { decodeIdCursor } from '../http/cursor.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';
import { findProgram } from '../programs/program-repository.ts';

/** Tier operations run inside the caller's transaction with the same context as the ledger. */
export type TierContext = LedgerContext;

export interface Ladder {
  row: LadderRow;
  tiers: TierRow[];
  byId: Map<string, TierRow>;
  byCode: Map<string, TierRow>;
  /** The earned tier with zero thresholds that every member holds, if the ladder has one. */
  entry: TierRow | null;
}

export async function loadLadder(db: Executor, programId: string): Promise<Ladder | null> {
  return memoizedLadder(db, programId, () => readLadder(db, programId));
}

async function readLadder(db: Executor, programId: string): Promise<Ladder | null> {
  const row = await repo.findLadder(db, programId);
  if (!row) return null;
  const tiers = await repo.listTierRows(db, programId);
  return {
    row, tiers,
    byId: new Map(tiers.map((t) => [t.id, t])),
    byCode: new Map(tiers.map((t) => [t.code, t])),
    entry: tiers.find((t) => isEntryTier(definitionOf(t))) ?? null,
  };
}

async function requireLadder(db: Executor, programId: string): Promise<Ladder> {
  const ladder = await loadLadder(db, programId);
  if (!ladder) throw new ProblemError('tier_not_found', 'this program has no tier ladder yet (PUT /v1/tiers creates it)');
  return ladder;
}

function tierByCode(ladder: Ladder, code: string): TierRow {
  const tier = ladder.byCode.get(code);
  if (!tier) throw new ProblemError('tier_not_found', `no tier "${code}" in this program's ladder`, { tier: code, known: ladder.tiers.map((t) => t.code) });
  return tier;
}

/** A ledger-shaped context for the program, in the caller's transaction. */
export async function tierContext(trx: Tx, programId: string, now?: Date, actor = 'system'): Promise<TierContext> {
  return openLedgerContext(trx, programId, actor, now ? () => now : undefined);
}

async function programMoney(db: Executor, programId: string): Promise<Money & { timeZone: string }> {
  const p = await findProgram(db, programId);
  if (!p) throw new ProblemError('program_not_found');
  return { currency: p.currency, exponent: p.currency_exponent, timeZone: p.time_zone };
}

const rankOf = (ladder: Ladder, tierId: string | null | undefined) => (tierId ? (ladder.byId.get(tierId)?.rank ?? -1) : -1);

// ---------------------------------------------------------------- ladder configuration

export async function getLadder(db: Executor, programId: string) {
  const [row, tiers] = await Promise.all([repo.findLadder(db, programId), repo.listTierRows(db, programId)]);
  return ladderView(row, tiers);
}

/**
 * Replaces the program's ladder. Tiers keep their identity by code; a tier that members hold in
 * any way cannot be removed or change kind. Threshold changes apply from each member's next
 * activity or review: nobody is moved by the edit itself.
 */
export async function putLadder(ctx: TierContext, input: LadderInput) {
  const { settings, tiers } = validateLadder(input);
  const wallets = [...new Set(tiers.flatMap((t) => [t.entryReward?.wallet, t.birthdayGift?.wallet ?? undefined]).filter((w): w is string => !!w))];
  const known = await repo.existingWalletCodes(ctx.trx, ctx.program.id, wallets);
  const missing = wallets.find((w) => !known.has(w));
  if (missing) throw new ProblemError('unknown_wallet', `this program has no wallet "${missing}" for a tier reward`, { wallet: missing });

  await repo.lockLadder(ctx.trx, ctx.program.id);
  const existing = await repo.listTierRows(ctx.trx, ctx.program.id);
  const next = new Map(tiers.map((t) => [t.code, t]));
  const touched = existing.filter((t) => !next.has(t.code) || next.get(t.code)!.kind !== t.kind);
  const holders = await repo.tierHolders(ctx.trx, ctx.program.id, touched.map((t) => t.id));
  for (const t of touched) {
    const members = holders.get(t.id) ?? 0;
    if (members > 0) {
      const change = next.has(t.code) ? `change the kind of tier "${t.code}" (${t.kind})` : `remove tier "${t.code}"`;
      throw new ProblemError('tier_in_use', `cannot ${change}: ${members} member(s) hold it`, { tier: t.code, members });
    }
  }
  await repo.upsertLadder(ctx.trx, ctx.program.id, settings, ctx.now);
  await repo.saveTiers(ctx.trx, ctx.program.id, tiers, ctx.now);
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'tiers.updated', subject_type: 'program', subject_id: ctx.program.id,
    details: { settings, tiers: tiers.map((t) => t.code), removed: existing.filter((t) => !next.has(t.code)).map((t) => t.code) },
  });
  return getLadder(ctx.trx, ctx.program.id);
}

export async function removeTier(ctx: TierContext, code: string) {
  const ladder = await requireLadder(ctx.trx, ctx.program.id);
  await repo.lockLadder(ctx.trx, ctx.program.id);
  const tier = tierByCode(ladder, code);
  const members = (await repo.tierHolders(ctx.trx, ctx.program.id, [tier.id])).get(tier.id) ?? 0;
  if (members > 0) throw new ProblemError('tier_in_use', `cannot remove tier "${code}": ${members} member(s) hold it`, { tier: code, members });
  await repo.deleteTier(ctx.trx, tier.id);
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'tier.removed', subject_type: 'tier', subject_id: tier.id, details: { code },
  });
  return getLadder(ctx.trx, ctx.program.id);
}

// ---------------------------------------------------------------- member state machine

/**
 * Everything due for these members (locked by the caller): grace periods that ran out, reviews,
 * locks, floors, invitations and paid memberships that ended; then each one's effective tier,
 * history, tier.changed events and entry rewards. Shared by the review job and every
 * per-member operation, so both paths move members by the same rules. `beforeLedger` runs
 * between the set-based statements and the entry rewards, which go through the ledger (the review
 * batch turns the foreign-key checks back on there).
 */
export async function processDue(ctx: TierContext, ladder: Ladder, ids: string[], beforeLedger?: () => Promise<void>) {
  const reasons = new Map<string, string>();
  const note = (id: string, reason: string) => {
    if (!reasons.has(id)) reasons.set(id, reason);
  };
  for (const id of await repo.expireGrace(ctx.trx, ctx.program.id, ids, ctx.now)) note(id, 'grace_expired');
  const reviewed = await repo.reviewDue(ctx.trx, ctx.program.id, ids, ctx.now);
  for (const r of reviewed) if (r.changed) note(r.member_id, 'review');
  for (const r of await repo.expireTimeBound(ctx.trx, ctx.program.id, ids, ctx.now)) {
    note(r.member_id, r.lock_ended || r.floor_ended ? 'override_expired' : r.invitation_ended ? 'invitation_expired' : 'paid');
  }
  // A review that kept the earned tier changes nothing by itself: those members skip the
  // effective-tier pass (most of a yearly review).
  const changes = await repo.applyEffective(ctx.trx, ctx.program.id, [...reasons].map(([memberId, reason]) => ({ memberId, reason })), ctx.now, ctx.actor);
  await beforeLedger?.();
  await grantEntryRewards(ctx, ladder, changes);
  return { reviewed: reviewed.length, graceStarted: reviewed.filter((r) => r.grace).length, changes };
}

/** Opens a member's tier state for a change: checks the member, locks the row, settles what is due. */
async function openMember(ctx: TierContext, memberId: string, ladder?: Ladder) {
  const member = await findMemberRow(ctx.trx, ctx.program.id, memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  const l = ladder ?? (await requireLadder(ctx.trx, ctx.program.id));
  let state = await repo.lockMemberTier(ctx.trx, ctx.program.id, memberId, ctx.now);
  if (state.due_at && state.due_at <= ctx.now) {
    await processDue(ctx, l, [memberId]);
    state = await repo.lockMemberTier(ctx.trx, ctx.program.id, memberId, ctx.now);
  }
  return { member, ladder: l, state };
}

/** The one-time entry reward of each tier a member reaches for the first time, in this transaction. */
async function grantEntryRewards(ctx: TierContext, ladder: Ladder, changes: TierChange[]) {
  for (const change of changes) {
    if (!change.first_reached || !change.to_tier_id) continue;
    const tier = ladder.byId.get(change.to_tier_id);
    invariant(tier, `tier ${change.to_tier_id} is in the ladder`);
    if (tier.entry_reward_points === null || tier.entry_reward_wallet === null) continue;
    const member = await findMemberRow(ctx.trx, ctx.program.id, change.member_id);
    // A blocked member cannot earn; the tier is still marked reached, so no reward comes later.
    if (member?.status !== 'active') continue;
    const result = await earn(ctx, {
      memberId: change.member_id, wallet: tier.entry_reward_wallet, amount: tier.entry_reward_points, pendingUntil: null,
      reference: { type: ENTRY_REWARD_REFERENCE, id: `${tier.code}:${change.member_id}` }, description: `Welcome to ${tier.name}`,
    });
    await repo.setEntryOperation(ctx.trx, change.member_id, tier.code, result.operation.id);
  }
}

/** Reference types of the points tiers give: never counted as qualifying points_earned. */
export const ENTRY_REWARD_REFERENCE = 'tier_entry';
export const BIRTHDAY_GIFT_REFERENCE = 'tier_birthday';

/** The member's windows now, and the best earned tier of the current or the previous window. */
async function qualification(ctx: TierContext, ladder: Ladder, state: MemberTierRow) {
  const windows = await repo.memberWindows(ctx.trx, ctx.program.id, state.member_id, ctx.now, state);
  const sums = await repo.windowSums(ctx.trx, ctx.program.id, state.member_id, windows.previous ? [windows.current, windows.previous] : [windows.current]);
  const candidates = sums.map((s) => (s.tierId ? ladder.byId.get(s.tierId) ?? null : null));
  const qualified = candidates.reduce<TierRow | null>((best, t) => (t && (!best || t.rank > best.rank) ? t : best), null);
  return { windows, qualified };
}

export interface TierActivityInput {
  programId: string;
  /**
   * Set by ledger hooks, inside an operation that already found the member in this program and
   * loaded the program: spares reading both again.
   */
  known?: { program: TierContext['program'] };
  memberId: string;
  /** One metric and its signed amount… */
  metric?: TierMetric | string;
  amount?: number;
  /** …or several at once (an order's payment: net_spend and orders). */
  amounts?: Partial<Record<TierMetric | string, number>>;
  /**
   * When the activity counts: the window it falls in. For a refund or a cancellation, pass the
   * ORIGINAL order's time, so that it lowers the window the order raised.
   */
  occurredAt: Date;
  /** Identify one business event, e.g. ('order.paid', orderId), ('order.refund', refundId). Replays are no-ops. */
  sourceType: string;
  sourceId: string;
  /** The caller's ctx.now; the database clock if absent. */
  now?: Date;
  actor?: string;
}

export interface TierActivityResult {
  recorded: boolean;
  changes: TierChange[];
  tier: CurrentTier | null;
}

function amountsOf(input: TierActivityInput): [TierMetric, number][] {
  const raw: [string, number][] = input.amounts ? Object.entries(input.amounts).filter((e): e is [string, number] => e[1] !== undefined) : [];
  if (input.metric !== undefined || input.amount !== undefined) {
    if (input.metric === undefined || input.amount === undefined) throw new ProblemError('validation_failed', 'metric and amount go together');
    raw.push([input.metric, input.amount]);
  }
  const seen = new Set<string>();
  const out: [TierMetric, number][] = [];
  for (const [metric, amount] of raw) {
    if (!isTierMetric(metric)) throw new ProblemError('unknown_tier_metric', `unknown tier metric "${metric}"`, { metric, known: TIER_METRICS });
    if (seen.has(metric)) throw new ProblemError('validation_failed', `metric ${metric} is given twice`);
    seen.add(metric);
    if (!Number.isSafeInteger(amount)) throw new ProblemError('validation_failed', `amount of ${metric} must be an integer below 2^53`, { metric });
    if (amount !== 0) out.push([metric, amount]);
  }
  if (out.length === 0) throw new ProblemError('validation_failed', 'tier activity needs at least one non-zero amount');
  return out;
}

/**
 * Records qualifying activity for a member and applies its effect on the tier, in the caller's
 * transaction: call it from the transaction that records the order event (paid: +net_spend
 * +1 orders; refund: −refunded net_spend; cancellation: −net_spend −1 orders), with a source that
 * identifies that event, so a replay changes nothing.
 *
 * - A positive amount that brings the member over a threshold upgrades at once (tier.changed,
 *   history, entry reward — all in this transaction). Activity while in a grace period that
 *   requalifies for the tier ends the grace period.
 * - A negative amount lowers the metric; by default the tier waits for the review, unless the
 *   ladder says `refunds: "immediate"`.
 *
 * Locks the member's tier row: call it after the ledger operations of the same transaction.
 * Records the activity even before a ladder exists (so it counts once one is configured).
 */
export async function recordTierActivity(trx: Tx, input: TierActivityInput): Promise<TierActivityResult> {
  const amounts = amountsOf(input);
  if (!(input.occurredAt instanceof Date) || Number.isNaN(input.occurredAt.getTime())) throw new ProblemError('validation_failed', 'occurredAt must be a valid date');
  if (!input.sourceType || input.sourceType.length > 64 || !input.sourceId || input.sourceId.length > 255) {
    throw new ProblemError('validation_failed', 'sourceType (1–64 characters) and sourceId (1–255) identify the activity');
  }
  if (!input.known) {
    const member = await findMemberRow(trx, input.programId, input.memberId);
    if (!member) throw new ProblemError('member_not_found', `no member ${input.memberId} in this program`);
  }
  const ctx = input.known && input.now
    ? { trx, program: input.known.program, now: input.now, actor: input.actor ?? 'system' }
    : await tierContext(trx, input.programId, input.now, input.actor ?? 'system');
  const inserted = await repo.insertMetricEvents(trx, amounts.map(([metric, amount]) => ({
    program_id: input.programId, member_id: input.memberId, metric, amount, occurred_at: input.occurredAt,
    source_type: input.sourceType, source_id: input.sourceId, recorded_at: ctx.now,
  })));
  if (inserted.length < amounts.length) {
    const existing = await repo.findMetricEvents(trx, input.programId, input.sourceType, input.sourceId);
    for (const [metric, amount] of amounts) {
      if (inserted.includes(metric)) continue;
      const e = existing.find((x) => x.metric === metric);
      if (!e || e.member_id !== input.memberId || e.amount !== amount || e.occurred_at.getTime() !== input.occurredAt.getTime()) {
        throw new ProblemError('tier_activity_conflict', `${input.sourceType} ${input.sourceId} was already recorded for ${metric} with other values`, {
          source: { type: input.sourceType, id: input.sourceId }, metric,
        });
      }
    }
  }
  const ladder = await loadLadder(trx, input.programId);
  if (inserted.length === 0 || !ladder) {
    return { recorded: inserted.length > 0, changes: [], tier: ladder ? await currentTier(trx, input.programId, input.memberId, ctx.now) : null };
  }
  const changes = await applyActivity(ctx, ladder, input.memberId, amounts.filter(([m]) => inserted.includes(m)), { type: input.sourceType, id: input.sourceId });
  return { recorded: true, changes, tier: await currentTier(trx, input.programId, input.memberId, ctx.now) };
}

async function applyActivity(ctx: TierContext, ladder: Ladder, memberId: string, amounts: [TierMetric, number][], source: Reference) {
  const { state } = await openMember(ctx, memberId, ladder);
  const { windows, qualified } = await qualification(ctx, ladder, state);
  const earnedRank = rankOf(ladder, state.earned_tier_id);
  const qualifiedRank = qualified?.rank ?? -1;
  const reviewable = (t: TierRow | null) => t !== null && !isEntryTier(definitionOf(t));
  let reason: string | null = null;
  if (amounts.some(([, a]) => a > 0)) {
    if (qualifiedRank > earnedRank) {
      await repo.updateMemberTier(ctx.trx, memberId, {
        earned_tier_id: qualified!.id, qualified_at: ctx.now, review_at: reviewable(qualified) ? windows.nextReview : null,
        grace_until: null, grace_tier_id: null,
      }, ctx.now);
      reason = 'qualified';
    } else if (state.grace_until && qualifiedRank >= earnedRank) {
      await repo.updateMemberTier(ctx.trx, memberId, { grace_until: null, grace_tier_id: null }, ctx.now);
      await recordEvent(ctx.trx, ctx.program.id, 'tier.grace_ended', memberId, {
        memberId, tier: ladder.byId.get(state.earned_tier_id!)?.code ?? null, reason: 'requalified', source,
      });
    }
  }
  if (reason === null && amounts.some(([, a]) => a < 0) && ladder.row.refund_downgrade === 'immediate' && qualifiedRank < earnedRank) {
    await repo.updateMemberTier(ctx.trx, memberId, {
      earned_tier_id: qualified?.id ?? null, grace_until: null, grace_tier_id: null,
      review_at: reviewable(qualified) ? (state.review_at ?? windows.nextReview) : null,
    }, ctx.now);
    reason = 'refund';
  }
  if (reason === null) return [];
  const changes = await repo.applyEffective(ctx.trx, ctx.program.id, [{ memberId, reason }], ctx.now, ctx.actor, { source });
  await grantEntryRewards(ctx, ladder, changes);
  return changes;
}

// ---------------------------------------------------------------- reads for other domains

export type TierSource = 'lock' | 'earned' | 'paid' | 'invitation' | 'floor' | 'entry';

export interface CurrentTier {
  code: string;
  name: string;
  rank: number;
  kind: 'earned' | 'invitation' | 'paid';
  /** What gives the member this tier now. */
  source: TierSource;
  /** 10 000 = ×1; apply as floor(points × bp / 10 000) or the rules engine's own rounding. */
  earnMultiplierBp: number;
  perks: { freeShipping: boolean; earlyAccess: boolean; discountBp: number; extra: { code: string; label: string }[] };
}

function sourceOf(ladder: Ladder, state: MemberTierRow | undefined, tier: TierRow, now: Date, paidTierIds: Set<string>): TierSource {
  if (!state) return 'entry';
  if (state.lock_until && state.lock_until > now && state.lock_tier_id === tier.id) return 'lock';
  if (state.earned_tier_id === tier.id) return tier.id === ladder.entry?.id ? 'entry' : 'earned';
  if (paidTierIds.has(tier.id)) return 'paid';
  if (state.invited_tier_id === tier.id && (!state.invited_until || state.invited_until > now)) return 'invitation';
  if (state.floor_tier_id === tier.id && (!state.floor_until || state.floor_until > now)) return 'floor';
  return 'entry';
}

function currentTierOf(ladder: Ladder, state: MemberTierRow | undefined, tier: TierRow, now: Date, paidTierIds: Set<string>): CurrentTier {
  return {
    code: tier.code, name: tier.name, rank: tier.rank, kind: tier.kind,
    source: sourceOf(ladder, state, tier, now, paidTierIds),
    earnMultiplierBp: tier.earn_multiplier_bp,
    perks: { freeShipping: tier.free_shipping, earlyAccess: tier.early_access, discountBp: tier.discount_bp, extra: tier.perks },
  };
}

async function effectiveNow(db: Executor, ladder: Ladder, memberId: string, now: Date) {
  const state = await repo.findMemberTier(db, ladder.row.program_id, memberId);
  // Computed at `now`, not read from tier_id: an ended lock or paid membership stops counting at
  // its end even if the review job has not run yet. Earned tiers only move at review.
  const tierId = state ? await repo.effectiveTierId(db, memberId, now) : (ladder.entry?.id ?? null);
  const tier = tierId ? ladder.byId.get(tierId) ?? null : null;
  const paid = state ? await repo.activeMemberships(db, memberId, now) : [];
  return { state, tier, paidTierIds: new Set(paid.map((m) => m.tier_id)), memberships: paid };
}

/**
 * The member's tier right now, with its earning multiplier and checkout perks; null when the
 * program has no ladder or the member holds no tier. For the rules engine (member.tierCode =
 * result?.code, multiplier earnMultiplierBp) and the rewards catalog (tier-only rewards, tier
 * prices). Does not check that the member exists.
 */
export async function currentTier(db: Executor, programId: string, memberId: string, now?: Date): Promise<CurrentTier | null> {
  const ladder = await loadLadder(db, programId);
  if (!ladder) return null;
  const at = now ?? (await databaseNow(db));
  const { state, tier, paidTierIds } = await effectiveNow(db, ladder, memberId, at);
  return tier ? currentTierOf(ladder, state, tier, at, paidTierIds) : null;
}

/** Whether the member's current tier is `code` or ranks above it (tier-only rewards "Gold and up"). */
export async function memberTierAtLeast(db: Executor, programId: string, memberId: string, code: string, now?: Date): Promise<boolean> {
  const ladder = await loadLadder(db, programId);
  const wanted = ladder?.byCode.get(code);
  if (!ladder || !wanted) return false;
  const tier = await currentTier(db, programId, memberId, now);
  return tier !== null && tier.rank >= wanted.rank;
}

// ---------------------------------------------------------------- member views

async function requireMember(db: Executor, programId: string, memberId: string) {
  const member = await findMemberRow(db, programId, memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${memberId} in this program`);
  return member;
}

export async function memberTierState(db: Executor, programId: string, memberId: string, now: Date) {
  await requireMember(db, programId, memberId);
  const ladder = await requireLadder(db, programId);
  const { state, tier, paidTierIds, memberships } = await effectiveNow(db, ladder, memberId, now);
  const brief = (id: string | null | undefined) => (id && ladder.byId.get(id) ? tierBrief(ladder.byId.get(id)!) : null);
  const active = (until: Date | null) => !until || until > now;
  return {
    memberId,
    tier: tier ? tierBrief(tier) : null,
    source: tier ? sourceOf(ladder, state, tier, now, paidTierIds) : null,
    since: state?.changed_at?.toISOString() ?? null,
    earned: {
      tier: state ? brief(state.earned_tier_id) : (ladder.entry ? tierBrief(ladder.entry) : null),
      qualifiedAt: state?.qualified_at?.toISOString() ?? null,
      reviewAt: state?.review_at?.toISOString() ?? null,
      lastReviewAt: state?.last_review_at?.toISOString() ?? null,
      grace: state?.grace_until ? { until: state.grace_until.toISOString(), thenTier: brief(state.grace_tier_id) } : null,
    },
    floor: state?.floor_tier_id && active(state.floor_until)
      ? { tier: brief(state.floor_tier_id)!, until: state.floor_until?.toISOString() ?? null, reason: state.floor_reason } : null,
    lock: state?.lock_tier_id && state.lock_until && state.lock_until > now
      ? { tier: brief(state.lock_tier_id)!, until: state.lock_until.toISOString(), reason: state.lock_reason } : null,
    invitation: state?.invited_tier_id && active(state.invited_until)
      ? { tier: brief(state.invited_tier_id)!, until: state.invited_until?.toISOString() ?? null } : null,
    memberships: memberships.map((m) => membershipView(m, ladder.byId.get(m.tier_id)?.code ?? '?', now)),
  };
}

export async function memberPerks(db: Executor, programId: string, memberId: string, now: Date) {
  await requireMember(db, programId, memberId);
  const tier = await currentTier(db, programId, memberId, now);
  return {
    memberId,
    tier: tier ? { code: tier.code, name: tier.name, rank: tier.rank } : null,
    source: tier?.source ?? null,
    freeShipping: tier?.perks.freeShipping ?? false,
    earlyAccess: tier?.perks.earlyAccess ?? false,
    discountBp: tier?.perks.discountBp ?? 0,
    earnMultiplierBp: tier?.earnMultiplierBp ?? 10_000,
    extra: tier?.perks.extra ?? [],
  };
}

/**
 * Where the member stands: the tier, the next earned tier and what is missing in the current
 * window, and what the member must do by the review date to keep an earned tier.
 */
export async function memberProgress(db: Executor, programId: string, memberId: string, now: Date) {
  await requireMember(db, programId, memberId);
  const ladder = await requireLadder(db, programId);
  const money = await programMoney(db, programId);
  const tz = money.timeZone;
  const { state, tier, paidTierIds, memberships } = await effectiveNow(db, ladder, memberId, now);
  const windows = await repo.memberWindows(db, programId, memberId, now, state);
  const [current, review] = await repo.windowSums(db, programId, memberId, windows.review ? [windows.current, windows.review] : [windows.current]);
  const mode = ladder.row.qualification;
  const phrase = windowPhrase(ladder.row.window_kind, ladder.row.window_months);
  const earned = ladder.tiers.filter((t) => t.kind === 'earned');
  const metrics = (earned[0] ? Object.keys(thresholdsOf(earned[0])) : []) as TierMetric[];
  const source = tier ? sourceOf(ladder, state, tier, now, paidTierIds) : null;

  const nextTier = earned.find((t) => t.rank > (tier?.rank ?? -1)) ?? null;
  let next = null;
  if (nextTier) {
    const gaps = gapsTo(thresholdsOf(nextTier), current!, money);
    next = { tier: tierBrief(nextTier), qualification: mode, gaps, message: reachMessage(nextTier.name, gaps, mode, phrase, money) };
  }

  let keep = null;
  const earnedTier = state?.earned_tier_id ? ladder.byId.get(state.earned_tier_id) ?? null : null;
  if (earnedTier && state?.review_at && !isEntryTier(definitionOf(earnedTier))) {
    // In a grace period the member requalifies in the current window; otherwise the review judges
    // the window that ends at review_at.
    const values = state.grace_until ? current! : review!;
    const gaps = gapsTo(thresholdsOf(earnedTier), values, money);
    const deadline = state.grace_until ? deadlineDate(state.grace_until, tz) : deadlineDate(state.review_at, tz);
    keep = {
      tier: tierBrief(earnedTier), reviewAt: state.review_at.toISOString(), graceUntil: state.grace_until?.toISOString() ?? null,
      met: gapsMet(gaps, mode), gaps, message: keepMessage(earnedTier.name, gaps, mode, deadline, money),
    };
  }

  let heldBy = null;
  if (tier && source && source !== 'earned' && source !== 'entry') {
    const until = source === 'lock' ? state?.lock_until : source === 'floor' ? state?.floor_until : source === 'invitation' ? state?.invited_until
      : memberships.filter((m) => m.tier_id === tier.id).map((m) => m.ends_at).sort((a, b) => b.getTime() - a.getTime())[0];
    heldBy = { source, until: until?.toISOString() ?? null };
  }

  return {
    memberId,
    tier: tier ? tierBrief(tier) : null,
    source,
    window: { kind: ladder.row.window_kind, months: ladder.row.window_months, start: windows.current.start?.toISOString() ?? null, end: windows.current.end?.toISOString() ?? null },
    metrics: metrics.map((m) => ({ metric: m, value: current![m], formatted: formatMetric(m, current![m], money) })),
    next,
    keep,
    heldBy,
  };
}

export async function memberHistory(db: Executor, programId: string, memberId: string, query: { cursor?: string; limit?: number }) {
  await requireMember(db, programId, memberId);
  const limit = query.limit ?? 50;
  const before = decodeIdCursor(query.cursor);
  const rows = await repo.listHistory(db, programId, memberId, before, limit + 1);
  const page = rows.slice(0, limit);
  return { data: page.map(historyView), nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null };
}

/** The shop's "how tiers work" page: every tier in order, how to get it, what it gives. */
export async function tierTable(db: Executor, programId: string) {
  const ladder = await loadLadder(db, programId);
  if (!ladder) return { configured: false, rules: null, tiers: [] };
  const money = await programMoney(db, programId);
  const { row } = ladder;
  const noun = windowNoun(row.window_kind, row.window_months);
  const join = row.qualification === 'all' ? ' and ' : ' or ';
  const tiers = ladder.tiers.map((t) => {
    const d = definitionOf(t);
    let howToGet: string;
    if (t.kind === 'invitation') howToGet = 'By invitation only.';
    else if (t.kind === 'paid') howToGet = `Join for ${formatMinor(t.price_minor!, money)} per ${t.period_months === 12 ? 'year' : t.period_months === 1 ? 'month' : `${t.period_months} months`}.`;
    else if (isEntryTier(d)) howToGet = 'Every member, from the day they join.';
    else {
      const parts = (Object.entries(d.thresholds) as [TierMetric, number][]).map(([m, v]) => m === 'net_spend' ? `spend ${formatMinor(v, money)}`
        : m === 'points_earned' ? `earn ${formatMetric(m, v, money)}` : `place ${formatMetric(m, v, money)}`);
      howToGet = `${parts.join(join).replace(/^./, (c) => c.toUpperCase())} ${noun}.`;
    }
    const benefits: string[] = [];
    if (d.earnMultiplierBp !== 10_000) benefits.push(multiplierText(d.earnMultiplierBp));
    if (d.freeShipping) benefits.push('Free shipping');
    if (d.earlyAccess) benefits.push('Early access to sales and launches');
    if (d.discountBp > 0) benefits.push(`${formatBasisPoints(d.discountBp)} % off`);
    for (const p of d.perks) benefits.push(p.label);
    if (d.entryReward) benefits.push(`${formatMetric('points_earned', d.entryReward.points, money)} when you first reach ${t.name}`);
    if (d.birthdayGift) benefits.push(d.birthdayGift.points ? `Birthday gift: ${formatMetric('points_earned', d.birthdayGift.points, money)}` : 'Birthday gift');
    return {
      ...tierView(t),
      howToGet,
      price: t.price_minor !== null ? { amountMinor: t.price_minor, periodMonths: t.period_months!, formatted: formatMinor(t.price_minor, money) } : null,
      thresholdsFormatted: (Object.entries(d.thresholds) as [TierMetric, number][]).map(([m, v]) => ({ metric: m, label: METRIC_LABELS[m], minimum: v, formatted: formatMetric(m, v, money) })),
      benefitsText: benefits,
    };
  });
  const review = row.window_kind === 'calendar_year' ? 'at the end of each calendar year'
    : row.window_kind === 'anniversary' ? 'on each anniversary of your join date'
    : row.window_kind === 'rolling_months' ? `${row.window_months} months after you reach or keep a tier` : 'once a year';
  return {
    configured: true,
    rules: {
      window: { kind: row.window_kind, months: row.window_months },
      qualification: row.qualification,
      currency: money.currency,
      text: [
        `Tiers are earned by your activity ${noun}; you move up as soon as you qualify.`,
        `Tiers are reviewed ${review}: you keep a tier if you qualified for it again, otherwise you move ${row.downgrade_one_level ? 'down one tier' : 'to the tier you qualified for'}${row.grace_days > 0 ? `, after a grace period of ${row.grace_days} days` : ''}.`,
        row.refund_downgrade === 'immediate' ? 'Refunded and cancelled orders stop counting at once and can lower your tier immediately.'
          : 'Refunded and cancelled orders stop counting; the change takes effect at the next review.',
      ],
    },
    tiers,
  };
}

// ---------------------------------------------------------------- manual changes

async function finish(ctx: TierContext, ladder: Ladder, memberId: string, reason: string, details: Record<string, unknown>) {
  const changes = await repo.applyEffective(ctx.trx, ctx.program.id, [{ memberId, reason }], ctx.now, ctx.actor, details);
  await grantEntryRewards(ctx, ladder, changes);
  return { changes, state: await memberTierState(ctx.trx, ctx.program.id, memberId, ctx.now) };
}

function futureDate(ctx: TierContext, until: Date | null | undefined, field: string) {
  if (until && until <= ctx.now) throw new ProblemError('validation_failed', `${field} must be in the future`, { field });
}

/**
 * A manual override, audited. `floor`: the member never holds less than this tier (until a date,
 * or until removed); they still move up above it. `lock`: the member holds exactly this tier
 * until the date, whatever their activity; reviews of the earned tier go on underneath.
 */
export async function setOverride(ctx: TierContext, input: { memberId: string; kind: 'floor' | 'lock'; tier: string; until?: Date | null; reason: string }) {
  const { ladder } = await openMember(ctx, input.memberId);
  const tier = tierByCode(ladder, input.tier);
  futureDate(ctx, input.until, 'until');
  if (input.kind === 'lock' && !input.until) throw new ProblemError('validation_failed', 'a lock needs an end date (until)', { field: 'until' });
  const patch = input.kind === 'floor'
    ? { floor_tier_id: tier.id, floor_until: input.until ?? null, floor_reason: input.reason }
    : { lock_tier_id: tier.id, lock_until: input.until!, lock_reason: input.reason };
  await repo.updateMemberTier(ctx.trx, input.memberId, patch, ctx.now);
  const details = { override: input.kind, tier: tier.code, until: input.until?.toISOString() ?? null, reason: input.reason };
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: `tier.${input.kind}_set`, subject_type: 'member', subject_id: input.memberId, details,
  });
  return finish(ctx, ladder, input.memberId, 'override_set', details);
}

export async function removeOverride(ctx: TierContext, input: { memberId: string; kind: 'floor' | 'lock' | 'all'; reason: string }) {
  const { ladder } = await openMember(ctx, input.memberId);
  const patch = {
    ...(input.kind !== 'lock' ? { floor_tier_id: null, floor_until: null, floor_reason: null } : {}),
    ...(input.kind !== 'floor' ? { lock_tier_id: null, lock_until: null, lock_reason: null } : {}),
  };
  await repo.updateMemberTier(ctx.trx, input.memberId, patch, ctx.now);
  const details = { override: input.kind, reason: input.reason };
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'tier.override_removed', subject_type: 'member', subject_id: input.memberId, details,
  });
  return finish(ctx, ladder, input.memberId, 'override_removed', details);
}

export async function invite(ctx: TierContext, input: { memberId: string; tier: string; until?: Date | null; reason: string }) {
  const { ladder } = await openMember(ctx, input.memberId);
  const tier = tierByCode(ladder, input.tier);
  if (tier.kind !== 'invitation') throw new ProblemError('tier_not_assignable', `"${tier.code}" is ${tier.kind}, not invitation-only`, { tier: tier.code, kind: tier.kind });
  futureDate(ctx, input.until, 'until');
  await repo.updateMemberTier(ctx.trx, input.memberId, { invited_tier_id: tier.id, invited_until: input.until ?? null }, ctx.now);
  const details = { tier: tier.code, until: input.until?.toISOString() ?? null, reason: input.reason };
  await insertAuditEvent(ctx.trx, { program_id: ctx.program.id, actor: ctx.actor, action: 'tier.invited', subject_type: 'member', subject_id: input.memberId, details });
  return finish(ctx, ladder, input.memberId, 'invited', details);
}

export async function revokeInvitation(ctx: TierContext, input: { memberId: string; reason: string }) {
  const { ladder } = await openMember(ctx, input.memberId);
  await repo.updateMemberTier(ctx.trx, input.memberId, { invited_tier_id: null, invited_until: null }, ctx.now);
  const details = { reason: input.reason };
  await insertAuditEvent(ctx.trx, { program_id: ctx.program.id, actor: ctx.actor, action: 'tier.invitation_revoked', subject_type: 'member', subject_id: input.memberId, details });
  return finish(ctx, ladder, input.memberId, 'invitation_revoked', details);
}

// ---------------------------------------------------------------- paid memberships

/**
 * Sells a paid tier (a Prime-like club bought at checkout): one period from `startsAt` (default
 * now). Buying again while a membership of that tier runs extends it by a period.
 */
export async function purchaseMembership(ctx: TierContext, input: { memberId: string; tier: string; startsAt?: Date; autoRenew?: boolean; reference?: Reference | null }) {
  const { ladder } = await openMember(ctx, input.memberId);
  const tier = tierByCode(ladder, input.tier);
  if (tier.kind !== 'paid') throw new ProblemError('tier_not_assignable', `"${tier.code}" is ${tier.kind}, not a paid tier`, { tier: tier.code, kind: tier.kind });
  const running = await repo.findRunningMembership(ctx.trx, input.memberId, tier.id, ctx.now);
  let membership;
  if (running) {
    membership = await repo.updateMembership(ctx.trx, running.id, {
      ends_at: await repo.addMonths(ctx.trx, ctx.program.time_zone, running.ends_at, tier.period_months!), periods: running.periods + 1,
      ...(input.autoRenew !== undefined ? { auto_renew: input.autoRenew } : {}),
    }, ctx.now);
  } else {
    const startsAt = input.startsAt ?? ctx.now;
    membership = await repo.insertMembership(ctx.trx, {
      program_id: ctx.program.id, member_id: input.memberId, tier_id: tier.id, starts_at: startsAt,
      ends_at: await repo.addMonths(ctx.trx, ctx.program.time_zone, startsAt, tier.period_months!), auto_renew: input.autoRenew ?? true,
      price_minor: tier.price_minor!, reference_type: input.reference?.type ?? null, reference_id: input.reference?.id ?? null,
      created_at: ctx.now, updated_at: ctx.now,
    });
  }
  await repo.refreshPaidCheck(ctx.trx, input.memberId, ctx.now);
  await recordEvent(ctx.trx, ctx.program.id, 'tier.membership_purchased', input.memberId, {
    memberId: input.memberId, membershipId: membership.id, tier: tier.code, endsAt: membership.ends_at.toISOString(), renewal: running !== undefined,
    reference: input.reference ?? null,
  });
  const { changes } = await finish(ctx, ladder, input.memberId, 'paid_started', { membershipId: membership.id });
  return { membership: membershipView(membership, tier.code, ctx.now), changes };
}

async function openMembership(ctx: TierContext, membershipId: string) {
  const found = await repo.findMembership(ctx.trx, ctx.program.id, membershipId);
  if (!found) throw new ProblemError('tier_membership_not_found');
  const { ladder } = await openMember(ctx, found.member_id);
  const membership = await repo.lockMembership(ctx.trx, membershipId);
  if (membership.status !== 'active') {
    throw new ProblemError('tier_membership_not_active', `membership ${membershipId} is ${membership.status}`, { status: membership.status });
  }
  return { ladder, membership, tier: ladder.byId.get(membership.tier_id)! };
}

/** Renews for one more period: from the end if it still runs, else as a new membership from now. */
export async function renewMembership(ctx: TierContext, input: { membershipId: string; reference?: Reference | null }) {
  const { ladder, membership, tier } = await openMembership(ctx, input.membershipId);
  let renewed;
  if (membership.ends_at > ctx.now) {
    renewed = await repo.updateMembership(ctx.trx, membership.id, {
      ends_at: await repo.addMonths(ctx.trx, ctx.program.time_zone, membership.ends_at, tier.period_months!), periods: membership.periods + 1,
    }, ctx.now);
  } else {
    renewed = await repo.insertMembership(ctx.trx, {
      program_id: ctx.program.id, member_id: membership.member_id, tier_id: tier.id, starts_at: ctx.now,
      ends_at: await repo.addMonths(ctx.trx, ctx.program.time_zone, ctx.now, tier.period_months!), auto_renew: membership.auto_renew,
      price_minor: tier.price_minor!, reference_type: input.reference?.type ?? null, reference_id: input.reference?.id ?? null,
      created_at: ctx.now, updated_at: ctx.now,
    });
  }
  await repo.refreshPaidCheck(ctx.trx, membership.member_id, ctx.now);
  await recordEvent(ctx.trx, ctx.program.id, 'tier.membership_renewed', membership.member_id, {
    memberId: membership.member_id, membershipId: renewed.id, tier: tier.code, endsAt: renewed.ends_at.toISOString(), reference: input.reference ?? null,
  });
  const { changes } = await finish(ctx, ladder, membership.member_id, 'paid_started', { membershipId: renewed.id });
  return { membership: membershipView(renewed, tier.code, ctx.now), changes };
}

/** Cancels: at once (the tier goes now) or at the end of the period (no renewal). */
export async function cancelMembership(ctx: TierContext, input: { membershipId: string; immediately: boolean; reason: string }) {
  const { ladder, membership, tier } = await openMembership(ctx, input.membershipId);
  const updated = input.immediately
    ? await repo.updateMembership(ctx.trx, membership.id, {
      status: 'cancelled', cancelled_at: ctx.now, auto_renew: false,
      ends_at: membership.ends_at > ctx.now ? (membership.starts_at > ctx.now ? membership.starts_at : ctx.now) : membership.ends_at,
    }, ctx.now)
    : await repo.updateMembership(ctx.trx, membership.id, { auto_renew: false }, ctx.now);
  await repo.refreshPaidCheck(ctx.trx, membership.member_id, ctx.now);
  const details = { membershipId: membership.id, tier: tier.code, immediately: input.immediately, reason: input.reason };
  await insertAuditEvent(ctx.trx, { program_id: ctx.program.id, actor: ctx.actor, action: 'tier.membership_cancelled', subject_type: 'member', subject_id: membership.member_id, details });
  await recordEvent(ctx.trx, ctx.program.id, 'tier.membership_cancelled', membership.member_id, { memberId: membership.member_id, ...details });
  const { changes } = await finish(ctx, ladder, membership.member_id, 'paid_cancelled', details);
  return { membership: membershipView(updated, tier.code, ctx.now), changes };
}

export async function listMemberMemberships(db: Executor, programId: string, memberId: string, now: Date) {
  await requireMember(db, programId, memberId);
  const ladder = await loadLadder(db, programId);
  const rows = await repo.listMemberships(db, programId, memberId);
  return { data: rows.map((m) => membershipView(m, ladder?.byId.get(m.tier_id)?.code ?? '?', now)) };
}

// ---------------------------------------------------------------- points_earned from the ledger

/** The tier activity source of a ledger earn (its id is the earn's operation id). */
const EARN_SOURCE = 'ledger.earn';

/** Points a tier itself gives never count toward tiers, so a tier cannot feed the next one. */
const isTierGift = (reference: Reference | null | undefined) => reference?.type === ENTRY_REWARD_REFERENCE || reference?.type === BIRTHDAY_GIFT_REFERENCE;

/**
 * Ledger hook for earn(): counts the earn as points_earned qualifying activity at ctx.now.
 * Points a tier itself gives (entry rewards, birthday gifts) never count, so a tier cannot
 * feed the next one. Call it in earn()'s transaction, after the earn.
 */
export async function recordPointsEarned(ctx: LedgerContext, input: { memberId: string; operationId: string; amount: number; reference?: Reference | null }) {
  if (isTierGift(input.reference)) return null;
  return recordTierActivity(ctx.trx, {
    programId: ctx.program.id, memberId: input.memberId, metric: 'points_earned', amount: input.amount, occurredAt: ctx.now,
    sourceType: EARN_SOURCE, sourceId: input.operationId, now: ctx.now, actor: ctx.actor, known: { program: ctx.program },
  });
}

export interface EarnedActivity { actor: string; memberId: string; operationId: string; amount: number; reference: Reference | null }

/**
 * The points_earned activity of new earns as an insert their write can carry (one statement for
 * both), when the program has no ladder: there is nothing to qualify for, only the activity to
 * keep (a ladder added later counts it). `rows` is how many it must insert. Null when the program
 * has a ladder: then recordPointsEarnedMany qualifies each member after the write, as a single
 * earn is qualified.
 */
export async function earnedActivityInsert(ctx: LedgerContext, earns: EarnedActivity[]) {
  if (await loadLadder(ctx.trx, ctx.program.id)) return null;
  const rows = earns.filter((e) => !isTierGift(e.reference)).map((e) => ({
    program_id: ctx.program.id, member_id: e.memberId, metric: 'points_earned' as const, amount: e.amount, occurred_at: ctx.now,
    source_type: EARN_SOURCE, source_id: e.operationId, recorded_at: ctx.now,
  }));
  return { rows: rows.length, insert: rows.length > 0 ? repo.metricEventsInsert(ctx.trx, rows) : undefined };
}

/** recordPointsEarned for several earns (a program with a ladder: each member is qualified on their own). */
export async function recordPointsEarnedMany(ctx: LedgerContext, earns: EarnedActivity[]) {
  for (const e of earns) await recordPointsEarned({ ...ctx, actor: e.actor }, e);
}

/**
 * Ledger hook for reverse(): takes the reversed points off points_earned in the window the earn
 * counted in. `amount` is what the reversal took back from the earn (operations.reversed grows by
 * it), forgiven part included. Earns that never counted are ignored.
 */
export async function recordPointsReversed(ctx: LedgerContext, input: { memberId: string; earnOperationId: string; reverseOperationId: string; amount: number }) {
  const [earned] = (await repo.findMetricEvents(ctx.trx, ctx.program.id, EARN_SOURCE, input.earnOperationId)).filter((e) => e.metric === 'points_earned');
  if (!earned || input.amount <= 0) return null;
  return recordTierActivity(ctx.trx, {
    programId: ctx.program.id, memberId: input.memberId, metric: 'points_earned', amount: -input.amount, occurredAt: earned.occurred_at,
    sourceType: 'ledger.reverse', sourceId: input.reverseOperationId, now: ctx.now, actor: ctx.actor,
  });
}

// ---------------------------------------------------------------- birthday gifts (the birthday job calls these)

/** What the member's current tier gives on their birthday, or null. */
export async function tierBirthdayGift(db: Executor, programId: string, memberId: string, now?: Date) {
  const ladder = await loadLadder(db, programId);
  const tier = await currentTier(db, programId, memberId, now);
  const row = tier ? ladder?.byCode.get(tier.code) : undefined;
  if (!row || (row.birthday_points === null && row.birthday_reward_code === null)) return null;
  return { tier: row.code, points: row.birthday_points, wallet: row.birthday_wallet, rewardCode: row.birthday_reward_code };
}

/**
 * Gives the member's tier birthday gift for `year` once: the points are earned here (reference
 * tier_birthday); a rewardCode is returned for the caller to issue through the rewards catalog.
 * A second call for the same member and year gives nothing (granted: false).
 */
export async function grantTierBirthdayGift(ctx: LedgerContext, input: { memberId: string; year: number }) {
  const member = await findMemberRow(ctx.trx, ctx.program.id, input.memberId);
  if (!member) throw new ProblemError('member_not_found', `no member ${input.memberId} in this program`);
  if (!Number.isSafeInteger(input.year) || input.year < 1900 || input.year > 9999) throw new ProblemError('validation_failed', 'year must be a calendar year');
  const gift = await tierBirthdayGift(ctx.trx, ctx.program.id, input.memberId, ctx.now);
  if (!gift) return { granted: false, gift: null, operationId: null };
  const first = await repo.insertBirthdayGift(ctx.trx, {
    program_id: ctx.program.id, member_id: input.memberId, year: input.year, tier_code: gift.tier, reward_code: gift.rewardCode, created_at: ctx.now,
  });
  if (!first) return { granted: false, gift, operationId: (await repo.findBirthdayGift(ctx.trx, input.memberId, input.year))?.operation_id ?? null };
  let operationId: string | null = null;
  if (gift.points !== null && gift.wallet !== null && member.status === 'active') {
    const result = await earn(ctx, {
      memberId: input.memberId, wallet: gift.wallet, amount: gift.points, pendingUntil: null,
      reference: { type: BIRTHDAY_GIFT_REFERENCE, id: `${input.memberId}:${input.year}` }, description: `Birthday gift ${input.year}`,
    });
    operationId = result.operation.id;
    await repo.setBirthdayOperation(ctx.trx, input.memberId, input.year, operationId);
  }
  return { granted: true, gift, operationId };
}

/** For the activity route: a member-scoped activity, validated like the hook. */
export async function recordActivityForMember(ctx: TierContext, memberId: string, body: {
  amounts: Record<string, number>; occurredAt?: Date; source: Reference;
}) {
  return recordTierActivity(ctx.trx, {
    programId: ctx.program.id, memberId, amounts: body.amounts, occurredAt: body.occurredAt ?? ctx.now,
    sourceType: body.source.type, sourceId: body.source.id, now: ctx.now, actor: ctx.actor,
  });
}

/** An order's n-th tier activity source: each change of its contribution is recorded as a new one (orderTierContributions reads them back). */
const orderSourceId = (orderId: string, n: number) => `${orderId}#${n}`;

/** What an order contributes to tier qualification now: its net spend and one order, while it counts. */
export function orderTierDesired(input: { netSpendMinor: number; counts: boolean }) {
  return input.counts ? { net_spend: Math.max(0, input.netSpendMinor), orders: 1 } : { net_spend: 0, orders: 0 };
}

/**
 * The tier activity of orders created in this transaction (nothing counted for them yet), in a
 * program without a ladder (nothing to qualify): what settleOrderTierActivity records for each,
 * as one insert for the caller to send with another write. Every row it is given is new.
 */
export async function newOrdersActivityInsert(
  ctx: LedgerContext, orders: { memberId: string; orderId: string; placedAt: Date; netSpendMinor: number; counts: boolean }[],
) {
  invariant((await loadLadder(ctx.trx, ctx.program.id)) === null, 'new orders are qualified together only without a ladder');
  const rows = orders.flatMap((o) => Object.entries(orderTierDesired(o)).filter(([, amount]) => amount !== 0).map(([metric, amount]) => ({
    program_id: ctx.program.id, member_id: o.memberId, metric: metric as TierMetric, amount, occurred_at: o.placedAt,
    source_type: 'order', source_id: orderSourceId(o.orderId, 1), recorded_at: ctx.now,
  })));
  return { rows: rows.length, insert: repo.metricEventsInsert(ctx.trx, rows) };
}

/**
 * Brings an order's tier contribution to what it should be now — net spend and one order while
 * it is paid and not cancelled, nothing otherwise — by recording the difference as a new source.
 * Order events may arrive in any order or twice; this converges like the order's points do.
 * Call it in the order's transaction (the order row locked), after its ledger operations.
 */
export async function settleOrderTierActivity(
  ctx: LedgerContext,
  input: { memberId: string; orderId: string; placedAt: Date; netSpendMinor: number; counts: boolean; isNew?: boolean },
) {
  const desired = orderTierDesired(input);
  // An order created in this transaction has contributed nothing yet.
  const so_far = input.isNew ? { netSpend: 0, orders: 0, sources: 0 } : await repo.orderTierContributions(ctx.trx, input.orderId);
  const amounts: Partial<Record<TierMetric, number>> = {};
  if (desired.net_spend !== so_far.netSpend) amounts.net_spend = desired.net_spend - so_far.netSpend;
  if (desired.orders !== so_far.orders) amounts.orders = desired.orders - so_far.orders;
  if (Object.keys(amounts).length === 0) return null;
  // Refunds and cancellations count in the window of the original order.
  return recordTierActivity(ctx.trx, {
    programId: ctx.program.id, memberId: input.memberId, amounts, occurredAt: input.placedAt,
    sourceType: 'order', sourceId: orderSourceId(input.orderId, so_far.sources + 1), now: ctx.now, actor: ctx.actor, known: { program: ctx.program },
  });
}
