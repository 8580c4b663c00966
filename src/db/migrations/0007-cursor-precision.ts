import { sql, type Kysely } from 'kysely';

/**
 * List cursors carry an instant as ISO text with milliseconds (what a JS Date holds), so every
 * column a cursor pages over must hold milliseconds too: a row at .123456 and a cursor saying
 * .123 would compare wrong, and a page boundary inside one millisecond would skip rows. Messages
 * took now() (microseconds) as their default, and one job writes a whole batch at one instant:
 * the message list skipped all but the first page of such a batch. Existing values are cut to
 * the millisecond (ties are still ordered by id), and a constraint keeps it so on every table
 * that is paged by an instant.
 */
const PAGED = [
  ['messages', 'created_at'],
  ['earning_rules', 'created_at'],
  ['rewards', 'created_at'],
  ['import_batches', 'created_at'],
  ['member_actions', 'created_at'],
  ['orders', 'placed_at'],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`alter table messages alter column created_at set default date_trunc('milliseconds', now())`).execute(db);
  for (const [table, column] of PAGED) {
    await sql.raw(`
update ${table} set ${column} = date_trunc('milliseconds', ${column}) where ${column} <> date_trunc('milliseconds', ${column});
alter table ${table} add constraint ${table}_${column}_ms check (${column} = date_trunc('milliseconds', ${column}));`).execute(db);
  }
}
