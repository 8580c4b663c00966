import { sql, type Kysely } from 'kysely';

/**
 * A version-7 UUID without uuidv7(): a version-4 one with the clock's milliseconds over its first six
 * bytes (big-endian, from int8send) and bits 4 and 5 of byte 6 set, turning version 4 (0100) into 7
 * (0111). Exported so that a test evaluates it on any server version.
 */
export const UUID_V7_BEFORE_18 = `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
  placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6),
  52, 1), 53, 1), 'hex')::uuid`;

/**
 * Every uuid key the database draws becomes a version-7 UUID (RFC 9562): 48 bits of Unix time in
 * milliseconds, then 74 random bits. Rows created together then sit side by side in every index
 * that leads with their id (a member's id leads the indexes of its accounts, wallet, operations,
 * lots, entries, awards and orders), and those indexes grow at their right edge instead of at a
 * random page each. With random (version-4) keys the import of a million members took 186–202 s
 * against 143–149 s with these, and PostgreSQL's own INSERT … SELECT of the same rows 115–121 s
 * against 80–93 s (docs/benchmarks.md, "Time-ordered ids").
 *
 * PostgreSQL 18 has uuidv7() (monotonic within a session); before it, the same layout is made from
 * gen_random_uuid() with the clock over its first six bytes and the version nibble set to 7.
 * Application-drawn ids use the same layout (src/shared/time-ordered-id.ts). Ids carry the instant
 * of their creation to the millisecond; none of them is a secret.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`
do $$
begin
  if current_setting('server_version_num')::int >= 180000 then
    execute 'create function laurel_uuid_v7() returns uuid language sql volatile parallel safe as ''select uuidv7()''';
  else
    execute $f$ create function laurel_uuid_v7() returns uuid language sql volatile parallel safe as $b$ select ${UUID_V7_BEFORE_18} $b$ $f$;
  end if;
end $$;

do $$
declare c record;
begin
  for c in
    select table_name, column_name from information_schema.columns
    where table_schema = 'public' and data_type = 'uuid' and column_default = 'gen_random_uuid()'
    order by table_name, column_name
  loop
    execute format('alter table %I alter column %I set default laurel_uuid_v7()', c.table_name, c.column_name);
  end loop;
end $$;
`).execute(db);
}
