import type { Updateable } from 'kysely';
import type { Tx } from '../db/database.ts';
import type { LimitPeriod, RewardKind, RewardsTable } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import { WEEKDAY_NAMES, type Weekday } from './reward-availability.ts';
import { parseBenefit, VOUCHER_KINDS, type Benefit } from './reward-benefit.ts';
import * as repo from './reward-repository.ts';
import { rewardView, type Image, type LocaleText } from './reward-views.ts';
import { parseCodeFormat, type CodeFormat } from './voucher-code.ts';
import { decodeKeyCursor, encodeKeyCursor, keyOf } from '../http/cursor.ts';

export interface RewardInput {
  code?: string | null;
  kind: RewardKind;
  status?: 'active' | 'paused' | 'archived';
  visibility?: 'public' | 'hidden';
  name: string;
  description?: string | null;
  texts?: Record<string, LocaleText>;
  images?: Image[];
  wallet?: string;
  costPoints: number;
  tierCosts?: Record<string, number>;
  allowedTiers?: string[] | null;
  benefit?: Record<string, unknown>;
  availability?: { startsAt?: string | null; endsAt?: string | null; weekdays?: Weekday[] | null };
  stock?: number | null;
  limit?: { count: number; period: LimitPeriod } | null;
  voucher?: {
    validityDays?: number | null;
    codeSource?: 'generated' | 'pool';
    codeFormat?: Partial<CodeFormat>;
    refundOnExpiry?: boolean;
    refundOnCancel?: boolean;
    usage?: 'any' | 'renewal';
  };
  autoIssue?: boolean;
}

export type RewardPatch = Partial<Omit<RewardInput, 'kind'>>;

const date = (value: string | null | undefined) => (value === undefined ? undefined : value === null ? null : new Date(value));

function weekdayNumbers(days: Weekday[] | null | undefined): number[] | null | undefined {
  if (days === undefined || days === null) return days;
  if (days.length === 0) throw new ProblemError('validation_failed', 'availability.weekdays lists at least one day (or is null for every day)');
  return [...new Set(days.map((d) => WEEKDAY_NAMES.indexOf(d) + 1))].sort();
}

function checkTierCosts(costs: Record<string, number> | undefined) {
  for (const [tier, cost] of Object.entries(costs ?? {})) {
    if (!Number.isSafeInteger(cost) || cost < 0) throw new ProblemError('validation_failed', `tierCosts.${tier} must be a non-negative integer`);
  }
}

/** Cross-field rules a schema cannot express; `r` is the reward as it would be saved. */
async function checkConsistency(trx: Tx, programId: string, r: {
  kind: RewardKind; wallet_id: string; cost_points: number; benefit: Benefit; auto_issue: boolean; code_source: 'generated' | 'pool';
  starts_at: Date | null; ends_at: Date | null;
}) {
  if (r.kind === 'store_credit') {
    const credit = await repo.walletOfProgram(trx, programId, r.benefit.wallet!);
    if (!credit) throw new ProblemError('unknown_wallet', `this program has no wallet "${r.benefit.wallet}" to credit`, { wallet: r.benefit.wallet });
    if (credit.id === r.wallet_id) throw new ProblemError('validation_failed', 'store credit goes into another wallet than the one the reward is paid from');
  }
  if (r.kind === 'donation' && r.cost_points < 1) throw new ProblemError('validation_failed', 'a donation reward costs at least 1 point (the step members donate in)');
  if (r.auto_issue && r.kind !== 'gift_note') throw new ProblemError('validation_failed', 'only gift_note rewards are issued automatically');
  if (r.auto_issue && r.cost_points < 1) throw new ProblemError('validation_failed', 'an automatic note costs at least 1 point: its cost is the balance threshold');
  if (r.code_source === 'pool' && !VOUCHER_KINDS.has(r.kind)) throw new ProblemError('validation_failed', `a ${r.kind} reward issues no code, so it takes no code pool`);
  if (r.starts_at && r.ends_at && r.ends_at <= r.starts_at) throw new ProblemError('validation_failed', 'availability.endsAt must be after startsAt');
}

async function withView(trx: Tx, programId: string, id: string) {
  const row = await repo.findReward(trx, programId, id);
  if (!row) throw new ProblemError('reward_not_found');
  const pools = await repo.poolCounts(trx, [row.id]);
  return rewardView(row, pools.get(row.id));
}

async function assertCodeFree(trx: Tx, programId: string, code: string | null | undefined, exceptId?: string) {
  if (!code) return;
  const other = await repo.findRewardByCode(trx, programId, code);
  if (other && other.id !== exceptId) throw new ProblemError('reward_conflict', `a reward with code "${code}" already exists`, { rewardId: other.id });
}

export async function createReward(ctx: LedgerContext, input: RewardInput) {
  const { trx } = ctx;
  const wallet = await repo.walletOfProgram(trx, ctx.program.id, input.wallet ?? 'points');
  if (!wallet) throw new ProblemError('unknown_wallet', `this program has no wallet "${input.wallet ?? 'points'}"`, { wallet: input.wallet ?? 'points' });
  const benefit = parseBenefit(input.kind, input.benefit);
  checkTierCosts(input.tierCosts);
  const codeFormat = parseCodeFormat(input.voucher?.codeFormat);
  const values = {
    program_id: ctx.program.id,
    code: input.code ?? null,
    kind: input.kind,
    status: input.status ?? 'active',
    visibility: input.visibility ?? 'public',
    name: input.name,
    description: input.description ?? null,
    texts: JSON.stringify(input.texts ?? {}),
    images: JSON.stringify(input.images ?? []),
    wallet_id: wallet.id,
    cost_points: input.costPoints,
    tier_costs: JSON.stringify(input.tierCosts ?? {}),
    allowed_tiers: input.allowedTiers && input.allowedTiers.length > 0 ? input.allowedTiers : null,
    benefit: JSON.stringify(benefit),
    starts_at: date(input.availability?.startsAt) ?? null,
    ends_at: date(input.availability?.endsAt) ?? null,
    weekdays: weekdayNumbers(input.availability?.weekdays) ?? null,
    stock_total: input.stock ?? null,
    stock_remaining: input.stock ?? null,
    limit_count: input.limit?.count ?? null,
    limit_period: input.limit?.period ?? null,
    voucher_validity_days: input.voucher?.validityDays ?? null,
    code_source: input.voucher?.codeSource ?? 'generated',
    code_format: JSON.stringify(codeFormat),
    refund_on_expiry: input.voucher?.refundOnExpiry ?? false,
    refund_on_cancel: input.voucher?.refundOnCancel ?? true,
    usage: input.voucher?.usage ?? 'any',
    auto_issue: input.autoIssue ?? false,
    created_at: ctx.now,
    updated_at: ctx.now,
  } as const;
  await checkConsistency(trx, ctx.program.id, { ...values, benefit });
  await assertCodeFree(trx, ctx.program.id, values.code);
  const { id } = await repo.insertReward(trx, values);
  await insertAuditEvent(trx, { program_id: ctx.program.id, actor: ctx.actor, action: 'reward.created', subject_type: 'reward', subject_id: id, details: { ...input } });
  return withView(trx, ctx.program.id, id);
}

export async function updateReward(ctx: LedgerContext, id: string, patch: RewardPatch) {
  const { trx } = ctx;
  const current = await repo.lockReward(trx, ctx.program.id, id);
  if (!current) throw new ProblemError('reward_not_found');
  const set: Updateable<RewardsTable> = { updated_at: ctx.now };
  let walletId = current.wallet_id;
  if (patch.wallet !== undefined) {
    const wallet = await repo.walletOfProgram(trx, ctx.program.id, patch.wallet);
    if (!wallet) throw new ProblemError('unknown_wallet', `this program has no wallet "${patch.wallet}"`, { wallet: patch.wallet });
    walletId = set.wallet_id = wallet.id;
  }
  const benefit = patch.benefit !== undefined ? parseBenefit(current.kind, patch.benefit) : (current.benefit as Benefit);
  if (patch.benefit !== undefined) set.benefit = JSON.stringify(benefit);
  if (patch.code !== undefined) {
    await assertCodeFree(trx, ctx.program.id, patch.code, id);
    set.code = patch.code;
  }
  if (patch.status !== undefined) set.status = patch.status;
  if (patch.visibility !== undefined) set.visibility = patch.visibility;
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.description !== undefined) set.description = patch.description;
  if (patch.texts !== undefined) set.texts = JSON.stringify(patch.texts);
  if (patch.images !== undefined) set.images = JSON.stringify(patch.images);
  if (patch.costPoints !== undefined) set.cost_points = patch.costPoints;
  if (patch.tierCosts !== undefined) {
    checkTierCosts(patch.tierCosts);
    set.tier_costs = JSON.stringify(patch.tierCosts);
  }
  if (patch.allowedTiers !== undefined) set.allowed_tiers = patch.allowedTiers && patch.allowedTiers.length > 0 ? patch.allowedTiers : null;
  const a = patch.availability;
  if (a?.startsAt !== undefined) set.starts_at = date(a.startsAt);
  if (a?.endsAt !== undefined) set.ends_at = date(a.endsAt);
  if (a?.weekdays !== undefined) set.weekdays = weekdayNumbers(a.weekdays);
  if (patch.stock !== undefined) {
    if (patch.stock === null) {
      set.stock_total = null;
      set.stock_remaining = null;
    } else if (current.stock_total === null) {
      // An unlimited reward gets a stock: counting starts now.
      set.stock_total = patch.stock;
      set.stock_remaining = patch.stock;
    } else {
      const issued = current.stock_total - current.stock_remaining!;
      if (patch.stock < issued) {
        throw new ProblemError('stock_below_issued', `${issued} already issued; the stock total cannot go below that`, { issued, requested: patch.stock });
      }
      set.stock_total = patch.stock;
      set.stock_remaining = patch.stock - issued;
    }
  }
  if (patch.limit !== undefined) {
    set.limit_count = patch.limit?.count ?? null;
    set.limit_period = patch.limit?.period ?? null;
  }
  const v = patch.voucher;
  if (v?.validityDays !== undefined) set.voucher_validity_days = v.validityDays;
  if (v?.codeSource !== undefined) set.code_source = v.codeSource;
  if (v?.codeFormat !== undefined) set.code_format = JSON.stringify(parseCodeFormat({ ...(current.code_format as Partial<CodeFormat>), ...v.codeFormat }));
  if (v?.refundOnExpiry !== undefined) set.refund_on_expiry = v.refundOnExpiry;
  if (v?.refundOnCancel !== undefined) set.refund_on_cancel = v.refundOnCancel;
  if (v?.usage !== undefined) set.usage = v.usage;
  if (patch.autoIssue !== undefined) set.auto_issue = patch.autoIssue;
  await checkConsistency(trx, ctx.program.id, {
    kind: current.kind,
    wallet_id: walletId,
    cost_points: (set.cost_points as number | undefined) ?? current.cost_points,
    benefit,
    auto_issue: (set.auto_issue as boolean | undefined) ?? current.auto_issue,
    code_source: (set.code_source as 'generated' | 'pool' | undefined) ?? current.code_source,
    starts_at: set.starts_at !== undefined ? (set.starts_at as Date | null) : current.starts_at,
    ends_at: set.ends_at !== undefined ? (set.ends_at as Date | null) : current.ends_at,
  });
  await repo.updateReward(trx, ctx.program.id, id, set);
  await insertAuditEvent(trx, { program_id: ctx.program.id, actor: ctx.actor, action: 'reward.updated', subject_type: 'reward', subject_id: id, details: { ...patch } });
  return withView(trx, ctx.program.id, id);
}

export async function getReward(ctx: LedgerContext, id: string) {
  return withView(ctx.trx, ctx.program.id, id);
}

export async function listRewards(ctx: LedgerContext, query: { status?: string; kind?: string; visibility?: string; cursor?: string; limit?: number }) {
  const limit = query.limit ?? 50;
  const rows = await repo.listRewards(ctx.trx, ctx.program.id, {
    status: query.status, kind: query.kind, visibility: query.visibility, limit: limit + 1,
    after: query.cursor ? keyOf(decodeKeyCursor(query.cursor)) : undefined,
  });
  const page = rows.slice(0, limit);
  const pools = await repo.poolCounts(ctx.trx, page.filter((r) => r.code_source === 'pool').map((r) => r.id));
  return { data: page.map((r) => rewardView(r, pools.get(r.id))), nextCursor: rows.length > limit ? encodeKeyCursor(page[page.length - 1]!.created_at, page[page.length - 1]!.id) : null };
}

export async function importPoolCodes(ctx: LedgerContext, rewardId: string, codes: string[]) {
  const reward = await repo.lockReward(ctx.trx, ctx.program.id, rewardId);
  if (!reward) throw new ProblemError('reward_not_found');
  if (reward.code_source !== 'pool') {
    throw new ProblemError('validation_failed', 'this reward generates its codes; set voucher.codeSource to "pool" to hand out imported codes');
  }
  const cleaned = codes.map((c) => c.trim());
  const imported = await repo.insertPoolCodes(ctx.trx, ctx.program.id, rewardId, cleaned);
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'reward.codes_imported', subject_type: 'reward', subject_id: rewardId,
    details: { received: codes.length, imported },
  });
  const pool = (await repo.poolCounts(ctx.trx, [rewardId])).get(rewardId) ?? { available: 0, assigned: 0 };
  return { received: codes.length, imported, skipped: codes.length - imported, pool };
}

export async function donationTotals(ctx: LedgerContext) {
  const rows = await repo.listDonationTotals(ctx.trx, ctx.program.id);
  return rows.map((r) => ({ cause: r.cause, points: r.points, donations: r.donations, donors: r.donors, updatedAt: r.updated_at.toISOString() }));
}
