import type { Db } from '../db/database.ts';
import { csvLine } from './csv.ts';
import * as repo from './export-repository.ts';
import type { ImportFormat } from './import-source.ts';
import { TAG_SEPARATOR } from './member-rows.ts';

/**
 * Streams every member of a program with their balances, as CSV or NDJSON, from one consistent
 * snapshot (a repeatable-read transaction, so a member's balances never mix two moments). The
 * columns are those the importer reads — an export imports into another program as it is; the
 * export-only columns (member_id, status, pending, reserved, earned) are skipped on import.
 */
export async function* exportMembers(db: Db, options: { programId: string; format: ImportFormat; pageSize?: number }): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 5_000;
  const trx = await db.startTransaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute();
  let finished = false;
  let pending: Promise<repo.ExportedMember[]> | undefined;
  try {
    const wallets = await repo.exportWallets(trx, options.programId);
    if (options.format === 'csv') {
      yield csvLine([
        'member_id', 'customer_id', 'email', 'phone', 'first_name', 'last_name', 'birthday', 'locale', 'marketing_consent', 'tags', 'status', 'enrolled_at',
        ...wallets.flatMap((w) => [`balance:${w.code}`, `pending:${w.code}`, `reserved:${w.code}`, `earned:${w.code}`]),
      ]);
    }
    await repo.openMemberCursor(trx, options.programId, { attributes: options.format === 'ndjson' });
    // The next page is fetched while this one is formatted: PostgreSQL and Node work side by side.
    pending = repo.fetchMembers(trx, pageSize);
    for (;;) {
      const rows: repo.ExportedMember[] = await pending;
      pending = rows.length < pageSize ? undefined : repo.fetchMembers(trx, pageSize);
      // Awaited on the next round, or below if the reader stops first.
      pending?.catch(() => {});
      if (rows.length === 0) break;
      let out = '';
      for (const m of rows) {
        const balances = m.balances ?? {};
        if (options.format === 'csv') {
          out += csvLine([
            m.id, m.customer_id, m.email, m.phone, m.first_name, m.last_name, m.birthday, m.locale, m.marketing_consent, m.tags.join(TAG_SEPARATOR), m.status,
            m.enrolled_at.toISOString(),
            ...wallets.flatMap((w) => {
              const b = balances[w.code];
              return b ? [b[0], b[1], b[2], b[3]] : [0, 0, 0, 0];
            }),
          ]);
        } else {
          out += `${JSON.stringify({
            memberId: m.id, customerId: m.customer_id, email: m.email, phone: m.phone, firstName: m.first_name, lastName: m.last_name,
            birthday: m.birthday, locale: m.locale, marketingConsent: m.marketing_consent, tags: m.tags, attributes: m.attributes, status: m.status,
            enrolledAt: m.enrolled_at.toISOString(),
            balances: wallets.map((w) => {
              const b = balances[w.code] ?? [0, 0, 0, 0];
              return { wallet: w.code, amount: b[0], pending: b[1], reserved: b[2], lifetimeEarned: b[3] };
            }),
          })}\n`;
        }
      }
      yield out;
      if (!pending) break;
    }
    finished = true;
  } finally {
    await pending?.catch(() => {});
    // A reader that stops early (a client hanging up) ends here too: the snapshot is released.
    if (finished) await trx.commit().execute();
    else await trx.rollback().execute().catch(() => {});
  }
}
