import { sql, type Kysely } from 'kysely';

/**
 * Bulk imports (members with opening balances, balance adjustments): one row per run, with its
 * report. Dedupe of the ledger effects does not rely on this table: an opening balance is an earn
 * operation referenced ('import', batch key), found through operations_reference.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
create table import_batches (
  id uuid primary key default gen_random_uuid(),
  program_id uuid not null references programs(id),
  kind text not null check (kind in ('members', 'adjustments')),
  batch_key text not null check (length(batch_key) between 1 and 200),
  -- sha256 of the file: a completed batch re-sent with the same key and content replays its report
  content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
  format text not null check (format in ('csv', 'ndjson')),
  status text not null check (status in ('completed', 'rejected', 'dry_run')),
  on_invalid text not null check (on_invalid in ('reject', 'skip')),
  rows_total integer not null check (rows_total >= 0),
  rows_invalid integer not null check (rows_invalid >= 0 and rows_invalid <= rows_total),
  report jsonb not null check (jsonb_typeof(report) = 'object'),
  actor text not null,
  created_at timestamptz not null default now(),
  finished_at timestamptz not null default now()
);
create index import_batches_program on import_batches (program_id, created_at desc, id);
create index import_batches_key on import_batches (program_id, kind, batch_key, content_hash) where status = 'completed';

`).execute(db);
}
