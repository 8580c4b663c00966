import { sql } from 'kysely';
import type { Db, Executor } from '../db/database.ts';

/**
 * Bulk data for the tier review benchmark, set-based so that a million members load in
 * seconds: members enrolled in 2024, half VIB and a quarter Rouge since March 2025 with a
 * review on 1 January 2026, and two 2025 orders each whose totals keep, raise or lower them.
 */
export async function loadBenchMembers(db: Db, programId: string, members: number, tiers: { vib: string; rouge: string; insider: string }) {
  await db.transaction().execute(async (trx) => {
    // The generated rows are consistent by construction: a superuser skips the per-row foreign
    // key triggers, which would otherwise dominate the load time.
    const { rows } = await sql<{ su: boolean }>`select rolsuper as su from pg_roles where rolname = current_user`.execute(trx);
    if (rows[0]?.su) await sql`set local session_replication_role = replica`.execute(trx);
    await load(trx, programId, members, tiers);
  });
  await sql`vacuum (analyze) members`.execute(db);
  await sql`vacuum (analyze) member_tiers`.execute(db);
  await sql`vacuum (analyze) tier_metric_events`.execute(db);
}

async function load(db: Executor, programId: string, members: number, tiers: { vib: string; rouge: string; insider: string }) {
  await sql`
    insert into members (program_id, enrollment_source, enrolled_at, created_at, updated_at)
    select ${programId}, 'bench', timestamptz '2024-01-15 12:00+00' + (g % 300) * interval '1 day', now(), now()
    from generate_series(1, ${members}::int) g`.execute(db);
  await sql`
    insert into member_tiers (member_id, program_id, tier_id, earned_tier_id, qualified_at, review_at, created_at, updated_at)
    select m.id, m.program_id, x.tier, x.tier, timestamptz '2025-03-01 17:00+00', timestamptz '2026-01-01 05:00+00', now(), now()
    from (select id, program_id, row_number() over () as n from members where program_id = ${programId}) m
    cross join lateral (select case when m.n % 4 = 0 then ${tiers.rouge}::uuid when m.n % 4 = 3 then ${tiers.insider}::uuid else ${tiers.vib}::uuid end as tier) x`.execute(db);
  // Two orders per member in 2025; the totals spread from $0 to $1,500 so every outcome occurs.
  await sql`
    insert into tier_metric_events (program_id, member_id, metric, amount, occurred_at, source_type, source_id, recorded_at)
    select mt.program_id, mt.member_id, 'net_spend', ((abs(hashtext(mt.member_id::text || k)) % 75000) + 1)::bigint,
           timestamptz '2025-02-01 12:00+00' + (k * 120) * interval '1 day', 'bench.order', mt.member_id::text || ':' || k, now()
    from member_tiers mt cross join generate_series(1, 2) k
    where mt.program_id = ${programId}`.execute(db);
  // Entry-tier members have nothing to review.
  await sql`update member_tiers set review_at = null where program_id = ${programId} and earned_tier_id = ${tiers.insider}`.execute(db);
}

export async function benchOutcome(db: Db, programId: string) {
  const { rows } = await sql<{ code: string; members: number }>`
    select t.code, count(*)::int as members from member_tiers mt join tiers t on t.id = mt.tier_id
    where mt.program_id = ${programId} group by t.code order by t.code`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.code, r.members]));
}
