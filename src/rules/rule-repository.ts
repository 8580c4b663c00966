import { sql, type QueryCreator } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';
import { recordset } from '../db/recordset.ts';
import type { DB, RuleKind } from '../db/schema.ts';
import { programAtNowQuery, type ProgramAtNow } from '../programs/program-repository.ts';
import type { RuleVersion } from './compile-rule.ts';
import type { RuleConfig } from './rule-config.ts';

export interface RuleVersionRow {
  id: number;
  rule_id: string;
  kind: RuleKind;
  version: number;
  effective_from: Date;
  enabled: boolean;
  name: string;
  priority: number;
  stop_further: boolean;
  config: Record<string, unknown>;
  created_by: string;
  created_at: Date;
}

export function toRuleVersion(row: RuleVersionRow): RuleVersion {
  return {
    ruleId: row.rule_id, version: row.version, kind: row.kind, name: row.name, priority: row.priority,
    stopFurther: row.stop_further, effectiveFrom: row.effective_from, config: row.config as RuleConfig,
  };
}

const versionColumns = [
  'v.id', 'v.rule_id', 'r.kind', 'v.version', 'v.effective_from', 'v.enabled', 'v.name', 'v.priority', 'v.stop_further',
  'v.config', 'v.created_by', 'v.created_at',
] as const;

export async function insertRule(trx: Tx, programId: string, kind: RuleKind, createdAt: Date) {
  // created_at at millisecond precision, so that list cursors (ISO text) compare exactly.
  return trx.insertInto('earning_rules').values({ program_id: programId, kind, created_at: createdAt }).returning(['id', 'created_at']).executeTakeFirstOrThrow();
}

/** Serialises changes to one rule (its version numbers and dates). */
export async function lockRule(trx: Tx, programId: string, ruleId: string) {
  return trx.selectFrom('earning_rules').selectAll().where('program_id', '=', programId).where('id', '=', ruleId).forUpdate().executeTakeFirst();
}

export async function insertVersion(
  trx: Tx,
  values: { program_id: string; rule_id: string; version: number; effective_from: Date; enabled: boolean; name: string; priority: number; stop_further: boolean; config: RuleConfig; created_by: string },
) {
  await trx.insertInto('earning_rule_versions').values({ ...values, config: JSON.stringify(values.config) }).execute();
}

/** A program's rule versions with their rule's kind. */
function versionQuery(db: Executor, programId: string) {
  return db
    .selectFrom('earning_rule_versions as v')
    .innerJoin('earning_rules as r', 'r.id', 'v.rule_id')
    .select(versionColumns)
    .where('v.program_id', '=', programId);
}

export async function versionsOf(db: Executor, programId: string, ruleIds: string[]): Promise<RuleVersionRow[]> {
  if (ruleIds.length === 0) return [];
  return versionQuery(db, programId)
    .where('v.rule_id', 'in', ruleIds)
    .orderBy('v.rule_id')
    .orderBy('v.version')
    .execute() as Promise<RuleVersionRow[]>;
}

export async function listRuleIds(db: Executor, programId: string, filter: { kind?: RuleKind; limit: number; after?: { createdAt: Date; id: string } }) {
  let q = db.selectFrom('earning_rules').select(['id', 'created_at']).where('program_id', '=', programId);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.after) q = q.where(sql<boolean>`(created_at, id) > (${filter.after.createdAt}, ${filter.after.id}::uuid)`);
  return q.orderBy('created_at').orderBy('id').limit(filter.limit).execute();
}

/** For each rule, the version in force at `at` (latest effective_from at or before it), enabled ones only. */
const versionsInForceSql = (programId: string, at: Date) => sql<RuleVersionRow>`
    select * from (
      select distinct on (v.rule_id) v.id, v.rule_id, r.kind, v.version, v.effective_from, v.enabled, v.name, v.priority,
             v.stop_further, v.config, v.created_by, v.created_at
      from earning_rule_versions v join earning_rules r on r.id = v.rule_id
      where v.program_id = ${programId} and v.effective_from <= ${at}
      order by v.rule_id, v.effective_from desc, v.version desc
    ) current where enabled`;

export async function versionsInForce(db: Executor, programId: string, at: Date): Promise<RuleVersionRow[]> {
  const { rows } = await versionsInForceSql(programId, at).execute(db);
  return rows;
}

/** A row of versionsInForceSql that came as JSON (its instants as text). */
function versionFromJson(row: Omit<RuleVersionRow, 'effective_from' | 'created_at'> & { effective_from: string; created_at: string }): RuleVersionRow {
  return { ...row, effective_from: new Date(row.effective_from), created_at: new Date(row.created_at) };
}

export async function findVersion(db: Executor, programId: string, ruleId: string, version: number): Promise<RuleVersionRow | undefined> {
  return versionQuery(db, programId)
    .where('v.rule_id', '=', ruleId)
    .where('v.version', '=', version)
    .executeTakeFirst() as Promise<RuleVersionRow | undefined>;
}

// ---------------------------------------------------------------- earning settings

export async function findSettings(db: Executor, programId: string) {
  return db.selectFrom('earning_settings').selectAll().where('program_id', '=', programId).executeTakeFirst();
}

export async function upsertSettings(trx: Tx, programId: string, values: { claim_window_days: number; pending_from: 'paid' | 'fulfilled'; updated_at: Date }) {
  return trx
    .insertInto('earning_settings')
    .values({ program_id: programId, ...values })
    .onConflict((oc) => oc.column('program_id').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

interface SettingsAndWalletsRow {
  earning_settings: { claim_window_days: number; pending_from: 'paid' | 'fulfilled' } | null;
  wallets: { code: string; pending_days: number; unit: string }[];
  rules: Parameters<typeof versionFromJson>[0][] | null;
  rules_changed: boolean | null;
}

/** The columns of settingsAndWallets, for a statement of its own or riding with another read. */
function settingsAndWalletsColumns(programId: string, rulesAt?: Date, rulesSince?: Date) {
  return sql`(select json_build_object('claim_window_days', claim_window_days, 'pending_from', pending_from) from earning_settings where program_id = ${programId}) as earning_settings,
            coalesce((select json_agg(json_build_object('code', code, 'pending_days', pending_days, 'unit', unit)) from wallets where program_id = ${programId}), '[]'::json) as wallets,
            ${rulesAt ? sql`coalesce((select json_agg(c) from (${versionsInForceSql(programId, rulesAt)}) c), '[]'::json)` : sql`null::json`} as rules,
            ${rulesAt && rulesSince ? sql`exists (select 1 from earning_rule_versions where program_id = ${programId} and effective_from > ${rulesSince} and effective_from <= ${rulesAt})` : sql`null::boolean`} as rules_changed`;
}

function settingsAndWalletsOf(row: SettingsAndWalletsRow) {
  return { settings: row.earning_settings, wallets: row.wallets, rules: row.rules?.map(versionFromJson), rulesChanged: row.rules_changed };
}

export type SettingsAndWallets = ReturnType<typeof settingsAndWalletsOf>;

/**
 * The earning settings row (if any) and the wallets' defaults, in one round trip; with `rulesAt`,
 * also versionsInForce at that instant, and with `rulesSince` whether any version took effect in
 * (rulesSince, rulesAt] — if none did, the same versions were in force all along that span.
 */
export async function settingsAndWallets(db: Executor, programId: string, rulesAt?: Date, rulesSince?: Date): Promise<SettingsAndWallets> {
  const { rows } = await sql<SettingsAndWalletsRow>`select ${settingsAndWalletsColumns(programId, rulesAt, rulesSince)}`.execute(db);
  return settingsAndWalletsOf(rows[0]!);
}

/**
 * settingsAndWallets and the program at the transaction's instant (programAtNowQuery) in one
 * statement: the first of an order batch, which needs both before anything else. Undefined when
 * there is no such program.
 */
export async function programWithSettingsAndWallets(db: Executor, programId: string, at: Date | undefined, rulesAt: Date, rulesSince: Date) {
  const { rows } = await sql<ProgramAtNow & SettingsAndWalletsRow>`
    select q.*, ${settingsAndWalletsColumns(programId, rulesAt, rulesSince)} from (${programAtNowQuery(programId, at)}) q`.execute(db);
  if (!rows[0]) return undefined;
  const { earning_settings: _s, wallets: _w, rules: _r, rules_changed: _c, ...program } = rows[0];
  return { program: program as ProgramAtNow, environment: settingsAndWalletsOf(rows[0]) };
}

export async function walletsOf(db: Executor, programId: string) {
  return db.selectFrom('wallets').select(['code', 'pending_days', 'unit']).where('program_id', '=', programId).execute();
}

// ---------------------------------------------------------------- per-rule points (caps, limits)

export async function replaceRulePoints(
  trx: Tx, source: { programId: string; memberId: string; type: 'order' | 'action'; id: string; occurredAt: Date; isNew?: boolean }, points: Map<string, number>,
) {
  // A source created in this transaction has no points recorded yet.
  if (!source.isNew) await trx.deleteFrom('rule_points').where('member_id', '=', source.memberId).where('source_type', '=', source.type).where('source_id', '=', source.id).execute();
  await insertRulePoints(trx, rulePointRows(source, points));
}

/** The rule_points rows of one source: a row per rule that gives it points. */
export function rulePointRows(source: { programId: string; memberId: string; type: 'order' | 'action'; id: string; occurredAt: Date }, points: Map<string, number>) {
  return [...points].filter(([, p]) => p > 0).map(([ruleId, p]) => ({
    program_id: source.programId, member_id: source.memberId, rule_id: ruleId, source_type: source.type, source_id: source.id, occurred_at: source.occurredAt, points: p,
  }));
}

/** Rows of rulePointRows, of one source or several, in one statement. */
export async function insertRulePoints(trx: Tx, rows: ReturnType<typeof rulePointRows>) {
  if (rows.length > 0) await rulePointsInsert(trx, rows).execute();
}

/** The insert of rule_points rows, for a caller that sends it with another write (a CTE); returns a row per row. */
export function rulePointsInsert(db: QueryCreator<DB>, rows: ReturnType<typeof rulePointRows>) {
  return db.insertInto('rule_points')
    .columns(['program_id', 'member_id', 'rule_id', 'source_type', 'source_id', 'occurred_at', 'points'])
    .expression(recordset(rows, { program_id: 'uuid', member_id: 'uuid', rule_id: 'uuid', source_type: 'text', source_id: 'uuid', occurred_at: 'timestamptz', points: 'bigint' }))
    .returning('rule_id');
}

/** Points and rewarded events of one rule for a member within [start, end), other sources only. */
export async function rulePointsWithin(
  db: Executor, memberId: string, ruleId: string, bounds: { start: Date; end: Date } | null, excludeSourceId: string | null,
): Promise<{ points: number; events: number }> {
  let q = db
    .selectFrom('rule_points')
    .select([sql<number>`coalesce(sum(points), 0)::bigint`.as('points'), sql<number>`count(*)::bigint`.as('events')])
    .where('member_id', '=', memberId)
    .where('rule_id', '=', ruleId);
  if (bounds) q = q.where('occurred_at', '>=', bounds.start).where('occurred_at', '<', bounds.end);
  if (excludeSourceId) q = q.where('source_id', '<>', excludeSourceId);
  const row = await q.executeTakeFirstOrThrow();
  return { points: Number(row.points), events: Number(row.events) };
}

// ---------------------------------------------------------------- progress

export async function contributionsOfSource(trx: Tx, memberId: string, type: 'order' | 'action', sourceId: string) {
  return trx
    .selectFrom('progress_contributions')
    .select(['rule_id', 'rule_version', 'period_key', 'amount'])
    .where('member_id', '=', memberId)
    .where('source_type', '=', type)
    .where('source_id', '=', sourceId)
    .execute();
}

export async function replaceContributions(
  trx: Tx, source: { programId: string; memberId: string; type: 'order' | 'action'; id: string; occurredAt: Date },
  rows: { ruleId: string; version: number; periodKey: string; amount: number }[],
) {
  await trx.deleteFrom('progress_contributions').where('member_id', '=', source.memberId).where('source_type', '=', source.type).where('source_id', '=', source.id).execute();
  const values = rows.filter((r) => r.amount > 0).map((r) => ({
    program_id: source.programId, member_id: source.memberId, rule_id: r.ruleId, rule_version: r.version, period_key: r.periodKey,
    source_type: source.type, source_id: source.id, occurred_at: source.occurredAt, amount: r.amount,
  }));
  if (values.length > 0) await trx.insertInto('progress_contributions').values(values).execute();
}

/** Total progress of a member on a rule in a period, and the newest rule version that counted it. */
export async function progressTotal(db: Executor, memberId: string, ruleId: string, periodKey: string): Promise<{ total: number; version: number | null }> {
  const row = await db
    .selectFrom('progress_contributions')
    .select([sql<number>`coalesce(sum(amount), 0)::bigint`.as('total'), sql<number | null>`max(rule_version)`.as('version')])
    .where('member_id', '=', memberId)
    .where('rule_id', '=', ruleId)
    .where('period_key', '=', periodKey)
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), version: row.version === null ? null : Number(row.version) };
}

/** Every (rule, period) a member has progress in, with totals and the latest contribution time. */
export async function progressOfMember(db: Executor, memberId: string) {
  return db
    .selectFrom('progress_contributions')
    .select(['rule_id', 'period_key', sql<number>`sum(amount)::bigint`.as('total'), sql<number>`max(rule_version)`.as('version'), sql<Date>`max(occurred_at)`.as('last_at'), sql<number>`count(*)::bigint`.as('sources')])
    .where('member_id', '=', memberId)
    .groupBy(['rule_id', 'period_key'])
    .orderBy('rule_id')
    .orderBy('period_key')
    .execute();
}
