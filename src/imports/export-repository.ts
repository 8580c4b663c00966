import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';

export async function exportWallets(db: Executor, programId: string) {
  return db.selectFrom('wallets').select(['id', 'code']).where('program_id', '=', programId).orderBy('created_at').orderBy('code').execute();
}

/**
 * A server-side cursor over the program's members, oldest first, each with its balances per
 * wallet. One query over the whole program: the balances are gathered in one pass over the
 * program's member wallets and accounts and joined by hash — not looked up member by member, four
 * index probes each. A cursor is planned for its first rows (cursor_tuple_fraction), which would
 * bring the per-member lookups back: it is planned for all of them here, with room to hash and
 * sort in memory. Attributes (NDJSON only) are left out of a CSV export rather than parsed for nothing.
 */
export async function openMemberCursor(db: Executor, programId: string, options: { attributes: boolean }) {
  await sql`select set_config('cursor_tuple_fraction', '1', true), set_config('work_mem', '64MB', true)`.execute(db);
  await sql`
    declare laurel_member_export no scroll cursor for
    select m.id, m.customer_id, m.email, m.phone, m.first_name, m.last_name, m.birthday, m.locale, m.marketing_consent, m.tags,
           ${options.attributes ? sql`m.attributes` : sql`null::jsonb`} as attributes, m.status, m.enrolled_at, b.balances
    from members m
    left join (
      select mw.member_id, jsonb_object_agg(w.code, jsonb_build_array(a.balance, p.balance, r.balance, mw.earned)) as balances
      from member_wallets mw
      join wallets w on w.id = mw.wallet_id
      join accounts a on a.id = mw.available_account_id
      join accounts p on p.id = mw.pending_account_id
      join accounts r on r.id = mw.reserved_account_id
      where mw.program_id = ${programId}
      group by mw.member_id
    ) b on b.member_id = m.id
    where m.program_id = ${programId}
    order by m.created_at, m.id`.execute(db);
}

export interface ExportedMember {
  id: string; customer_id: string | null; email: string | null; phone: string | null; first_name: string | null; last_name: string | null;
  birthday: string | null; locale: string | null; marketing_consent: boolean; tags: string[]; attributes: Record<string, unknown>;
  status: string; enrolled_at: Date;
  /** wallet code → [available, pending, reserved, lifetime earned] */
  balances: Record<string, [number, number, number, number]> | null;
}

export async function fetchMembers(db: Executor, count: number): Promise<ExportedMember[]> {
  const { rows } = await sql<ExportedMember>`${sql.raw(`fetch forward ${Math.max(1, Math.floor(count))} from laurel_member_export`)}`.execute(db);
  return rows;
}
