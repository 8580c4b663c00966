import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';

export async function exportWallets(db: Executor, programId: string) {
  return db.selectFrom('wallets').select(['id', 'code']).where('program_id', '=', programId).orderBy('created_at').orderBy('code').execute();
}

/** A server-side cursor over the program's members, oldest first, each with its balances per wallet. */
export async function openMemberCursor(db: Executor, programId: string) {
  await sql`
    declare laurel_member_export no scroll cursor for
    select m.id, m.customer_id, m.email, m.phone, m.first_name, m.last_name, m.birthday, m.locale, m.marketing_consent, m.tags,
           m.attributes, m.status, m.enrolled_at,
           (select jsonb_object_agg(w.code, jsonb_build_array(a.balance, p.balance, r.balance, mw.earned))
              from member_wallets mw
              join wallets w on w.id = mw.wallet_id
              join accounts a on a.id = mw.available_account_id
              join accounts p on p.id = mw.pending_account_id
              join accounts r on r.id = mw.reserved_account_id
             where mw.member_id = m.id) as balances
    from members m where m.program_id = ${programId}
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
