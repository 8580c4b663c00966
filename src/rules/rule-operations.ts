import type { Executor } from '../db/database.ts';
import type { RuleKind } from '../db/schema.ts';
import { recordEvent } from '../events/event-repository.ts';
import { ProblemError } from '../http/error-codes.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
import { byPriority, compileRule, defaultPriority, type CompiledRule } from './compile-rule.ts';
import { actionTypeOf, normalizeRuleConfig, type PendingFrom, type RuleConfig } from './rule-config.ts';
import '../orders/order-event-types.ts';
import * as repo from './rule-repository.ts';
import { toRuleVersion, type RuleVersionRow } from './rule-repository.ts';
import { decodeKeyCursor, encodeKeyCursor, keyOf } from '../http/cursor.ts';

export interface RuleInput {
  kind?: RuleKind;
  name: string;
  priority?: number;
  stopFurtherRules?: boolean;
  enabled?: boolean;
  effectiveFrom?: string;
  config: unknown;
}

export function versionView(v: RuleVersionRow) {
  return {
    version: v.version,
    effectiveFrom: v.effective_from.toISOString(),
    enabled: v.enabled,
    name: v.name,
    priority: v.priority,
    stopFurtherRules: v.stop_further,
    config: v.config,
    createdBy: v.created_by,
    createdAt: v.created_at.toISOString(),
  };
}

/** A rule with its version in force now, any scheduled later, and its whole history. */
export function ruleView(versions: RuleVersionRow[], now: Date) {
  const first = versions[0]!;
  const inForce = [...versions].filter((v) => v.effective_from <= now).sort((a, b) => b.effective_from.getTime() - a.effective_from.getTime() || b.version - a.version)[0];
  return {
    id: first.rule_id,
    kind: first.kind,
    current: inForce && inForce.enabled ? versionView(inForce) : null,
    status: (!inForce ? 'scheduled' : inForce.enabled ? 'active' : 'disabled') as 'scheduled' | 'active' | 'disabled',
    scheduled: versions.filter((v) => v.effective_from > now).map(versionView),
    versions: versions.map(versionView),
  };
}

async function assertWallet(ctx: LedgerContext, cfg: RuleConfig) {
  const wallets = await repo.walletsOf(ctx.trx, ctx.program.id);
  if (!wallets.some((w) => w.code === cfg.wallet)) {
    throw new ProblemError('unknown_wallet', `this program has no wallet "${cfg.wallet}"${cfg.wallet === 'cashback' ? ' (create it with POST /v1/wallets, e.g. unit "currency" and a 90-day expiry)' : ''}`, { wallet: cfg.wallet });
  }
}

function effectiveDate(ctx: LedgerContext, value: string | undefined, notBefore: Date | null): Date {
  const date = value === undefined ? ctx.now : new Date(value);
  if (Number.isNaN(date.getTime())) throw new ProblemError('validation_failed', 'effectiveFrom is not a date-time', { field: 'effectiveFrom' });
  if (date < ctx.now) {
    throw new ProblemError('rule_effective_date_invalid', `effectiveFrom ${date.toISOString()} is in the past; a rule change applies from now on, never to orders already placed`, { now: ctx.now.toISOString() });
  }
  if (notBefore && date < notBefore) {
    throw new ProblemError('rule_effective_date_invalid', `effectiveFrom ${date.toISOString()} is before the latest version (from ${notBefore.toISOString()})`, { latestEffectiveFrom: notBefore.toISOString() });
  }
  return date;
}

export async function createRule(ctx: LedgerContext, input: RuleInput & { kind: RuleKind }) {
  const config = normalizeRuleConfig(input.kind, input.config);
  await assertWallet(ctx, config);
  const effectiveFrom = effectiveDate(ctx, input.effectiveFrom, null);
  const rule = await repo.insertRule(ctx.trx, ctx.program.id, input.kind, ctx.now);
  await repo.insertVersion(ctx.trx, {
    program_id: ctx.program.id, rule_id: rule.id, version: 1, effective_from: effectiveFrom, enabled: input.enabled ?? true,
    name: input.name, priority: input.priority ?? defaultPriority(input.kind), stop_further: input.stopFurtherRules ?? false,
    config, created_by: ctx.actor,
  });
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'rule.created', subject_type: 'earning_rule', subject_id: rule.id,
    details: { kind: input.kind, name: input.name, effectiveFrom: effectiveFrom.toISOString() },
  });
  await recordEvent(ctx.trx, ctx.program.id, 'rule.changed', null, { ruleId: rule.id, version: 1, kind: input.kind, effectiveFrom: effectiveFrom.toISOString() });
  return ruleView(await repo.versionsOf(ctx.trx, ctx.program.id, [rule.id]), ctx.now);
}

/** A new version; the old ones stay and keep explaining the orders they evaluated. */
export async function updateRule(ctx: LedgerContext, ruleId: string, input: RuleInput) {
  const rule = await repo.lockRule(ctx.trx, ctx.program.id, ruleId);
  if (!rule) throw new ProblemError('rule_not_found');
  if (input.kind !== undefined && input.kind !== rule.kind) {
    throw new ProblemError('invalid_rule', `a rule keeps its kind (this one is "${rule.kind}"); create a new rule instead`, { errors: [{ path: '/kind', message: `must be ${rule.kind}` }] });
  }
  const config = normalizeRuleConfig(rule.kind, input.config);
  await assertWallet(ctx, config);
  const versions = await repo.versionsOf(ctx.trx, ctx.program.id, [ruleId]);
  const latest = versions[versions.length - 1]!;
  const effectiveFrom = effectiveDate(ctx, input.effectiveFrom, latest.effective_from);
  const version = latest.version + 1;
  await repo.insertVersion(ctx.trx, {
    program_id: ctx.program.id, rule_id: ruleId, version, effective_from: effectiveFrom, enabled: input.enabled ?? true,
    name: input.name, priority: input.priority ?? defaultPriority(rule.kind), stop_further: input.stopFurtherRules ?? false,
    config, created_by: ctx.actor,
  });
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'rule.versioned', subject_type: 'earning_rule', subject_id: ruleId,
    details: { version, enabled: input.enabled ?? true, effectiveFrom: effectiveFrom.toISOString() },
  });
  await recordEvent(ctx.trx, ctx.program.id, 'rule.changed', null, { ruleId, version, kind: rule.kind, enabled: input.enabled ?? true, effectiveFrom: effectiveFrom.toISOString() });
  return ruleView(await repo.versionsOf(ctx.trx, ctx.program.id, [ruleId]), ctx.now);
}

export async function getRule(db: Executor, programId: string, ruleId: string, now: Date) {
  const versions = await repo.versionsOf(db, programId, [ruleId]);
  if (versions.length === 0) throw new ProblemError('rule_not_found');
  return ruleView(versions, now);
}

export async function listRules(db: Executor, programId: string, now: Date, query: { kind?: RuleKind; cursor?: string; limit?: number }) {
  const limit = query.limit ?? 50;
  const after = query.cursor ? keyOf(decodeKeyCursor(query.cursor)) : undefined;
  const ids = await repo.listRuleIds(db, programId, { kind: query.kind, limit: limit + 1, after });
  const page = ids.slice(0, limit);
  const versions = await repo.versionsOf(db, programId, page.map((r) => r.id));
  const data = page.map((r) => ruleView(versions.filter((v) => v.rule_id === r.id), now));
  const last = page[page.length - 1];
  return {
    data,
    nextCursor: ids.length > limit && last ? encodeKeyCursor(last.created_at, last.id) : null,
  };
}

// Versions never change, so a compiled version can be reused for as long as the process lives
// (keyed by the rule's UUID and version number: unique across databases too).
const compiled = new Map<string, CompiledRule>();

function compileCached(row: RuleVersionRow): CompiledRule {
  const key = `${row.rule_id}:${row.version}`;
  let rule = compiled.get(key);
  if (!rule) {
    if (compiled.size > 20_000) compiled.clear();
    rule = compileRule(toRuleVersion(row));
    compiled.set(key, rule);
  }
  return rule;
}

/** The enabled rules in force at an instant, compiled and in evaluation order. */
export async function rulesInForce(db: Executor, programId: string, at: Date): Promise<CompiledRule[]> {
  const rows = await repo.versionsInForce(db, programId, at);
  return rows.map(compileCached).sort(byPriority);
}

export async function compiledVersion(db: Executor, programId: string, ruleId: string, version: number): Promise<CompiledRule | null> {
  const row = await repo.findVersion(db, programId, ruleId, version);
  return row ? compileCached(row) : null;
}

/** Action types the rules in force at `at` listen to. */
export function actionTypes(rules: readonly CompiledRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    const t = actionTypeOf(r.kind, r.config);
    if (t) out.add(t);
  }
  return out;
}

// ---------------------------------------------------------------- settings

export interface EarningSettings {
  claimWindowDays: number;
  pendingFrom: PendingFrom;
}

export const DEFAULT_SETTINGS: EarningSettings = { claimWindowDays: 30, pendingFrom: 'paid' };

export async function getEarningSettings(db: Executor, programId: string): Promise<EarningSettings> {
  const row = await repo.findSettings(db, programId);
  return row ? { claimWindowDays: row.claim_window_days, pendingFrom: row.pending_from } : { ...DEFAULT_SETTINGS };
}

export async function updateEarningSettings(ctx: LedgerContext, input: Partial<EarningSettings>) {
  const current = await getEarningSettings(ctx.trx, ctx.program.id);
  const next = { ...current, ...input };
  await repo.upsertSettings(ctx.trx, ctx.program.id, { claim_window_days: next.claimWindowDays, pending_from: next.pendingFrom, updated_at: ctx.now });
  await insertAuditEvent(ctx.trx, {
    program_id: ctx.program.id, actor: ctx.actor, action: 'earning_settings.updated', subject_type: 'program', subject_id: ctx.program.id, details: { ...input },
  });
  return next;
}

/**
 * getEarningSettings and walletDefaults together, in one round trip (an order event needs both);
 * with `rulesAt`, rulesInForce at that instant too; with `rulesSince` as well, `steadySince` says
 * whether those same rules were in force from then on.
 */
export async function earningEnvironment(db: Executor, programId: string, rulesAt?: Date, rulesSince?: Date) {
  return earningEnvironmentOf(await repo.settingsAndWallets(db, programId, rulesAt, rulesSince), rulesAt, rulesSince);
}

/** earningEnvironment from its rows, read by settingsAndWallets or with the program (programWithSettingsAndWallets). */
export function earningEnvironmentOf({ settings, wallets, rules, rulesChanged }: repo.SettingsAndWallets, rulesAt?: Date, rulesSince?: Date) {
  return {
    rulesInForce: rulesAt && rules ? { at: rulesAt, rules: rules.map(compileCached).sort(byPriority), steadySince: rulesChanged === false ? rulesSince : undefined } : undefined,
    settings: settings ? { claimWindowDays: settings.claim_window_days, pendingFrom: settings.pending_from } : { ...DEFAULT_SETTINGS },
    wallets: Object.fromEntries(wallets.map((w) => [w.code, { pendingDays: w.pending_days }])) as Record<string, { pendingDays: number }>,
  };
}

/** Wallet defaults the evaluation needs (pending days per wallet code). */
export async function walletDefaults(db: Executor, programId: string): Promise<Record<string, { pendingDays: number }>> {
  const rows = await repo.walletsOf(db, programId);
  return Object.fromEntries(rows.map((w) => [w.code, { pendingDays: w.pending_days }]));
}
