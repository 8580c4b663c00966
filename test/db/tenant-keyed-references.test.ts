import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

/**
 * The ledger's rows and an order's rows name their program through a composite reference
 * (migration 0018): an operation, lot or entry must name one of the member's wallets in its
 * program; an award, a rule's points and a transfer's counterpart a member of their program; an
 * order event an order of its program. Each case below inserts a copy of a real row, first as it
 * is (which must succeed, so the copy is otherwise valid), then with one column taken from another
 * program (which the database must refuse), each in a transaction rolled back afterwards.
 */
describe('tenant-keyed references', async () => {
  const t = await setupTestApp();
  const other = await t.newProgram({ name: 'Other shop' });
  const mine = await t.member();
  const theirs = await t.member({}, other);
  await t.earn(mine.id, 40);
  await t.earn(theirs.id, 30, {}, other);

  const { rows: [ids] } = await sql<{ my_wallet: string; their_wallet: string; my_op: string; my_lot: number; my_entry: number }>`
    select (select wallet_id from member_wallets where member_id = ${mine.id}) as my_wallet,
           (select wallet_id from member_wallets where member_id = ${theirs.id}) as their_wallet,
           (select id from operations where member_id = ${mine.id}) as my_op,
           (select id from lots where member_id = ${mine.id}) as my_lot,
           (select id from entries where member_id = ${mine.id}) as my_entry`.execute(t.db.db);

  /** Runs the statement in a transaction that is rolled back; returns 'ok' or the error's SQLSTATE and constraint. */
  async function attempt(statement: ReturnType<typeof sql>): Promise<string> {
    const client = await t.db.pool.connect();
    try {
      await client.query('begin');
      const compiled = statement.compile(t.db.db);
      await client.query(compiled.sql, [...compiled.parameters]);
      return 'ok';
    } catch (error) {
      const e = error as { code?: string; constraint?: string; column?: string };
      return `${e.code} ${e.constraint ?? e.column ?? ''}`.trim();
    } finally {
      await client.query('rollback');
      client.release();
    }
  }

  const copyOperation = (changes: { program?: string; member?: string | null; wallet?: string; counterpart?: string }) => sql`
    insert into operations (program_id, wallet_id, member_id, kind, amount, actor, counterpart_member_id)
    select ${changes.program ?? t.program.id}, ${changes.wallet ?? ids!.my_wallet}, ${changes.member === undefined ? mine.id : changes.member}, kind, amount, actor, ${changes.counterpart ?? null}
    from operations where id = ${ids!.my_op}`;
  const copyLot = (changes: { program?: string; member?: string; wallet?: string }) => sql`
    insert into lots (program_id, wallet_id, member_id, operation_id, amount, remaining, vested, vests_at, expires_at)
    select ${changes.program ?? t.program.id}, ${changes.wallet ?? ids!.my_wallet}, ${changes.member ?? mine.id}, operation_id, amount, remaining, vested, vests_at, expires_at
    from lots where id = ${ids!.my_lot}`;
  const copyEntry = (changes: { program?: string; member?: string | null; wallet?: string }) => sql`
    insert into entries (program_id, wallet_id, member_id, operation_id, kind, amount, debit_account_id, credit_account_id, lot_id, lot_delta)
    select ${changes.program ?? t.program.id}, ${changes.wallet ?? ids!.my_wallet}, ${changes.member === undefined ? mine.id : changes.member}, operation_id, kind, amount, debit_account_id, credit_account_id, lot_id, 0
    from entries where id = ${ids!.my_entry}`;

  it('an operation names one of its member\'s wallets in its program, and always a member', async () => {
    expect(await attempt(copyOperation({}))).toBe('ok');
    expect(await attempt(copyOperation({ member: theirs.id }))).toBe('23503 operations_member_wallet_fkey');
    expect(await attempt(copyOperation({ wallet: ids!.their_wallet }))).toBe('23503 operations_member_wallet_fkey');
    expect(await attempt(copyOperation({ program: other.id }))).toBe('23503 operations_member_wallet_fkey');
    expect(await attempt(copyOperation({ member: null }))).toBe('23502 member_id');
  });

  it('a transfer\'s counterpart is a member of the same program', async () => {
    const friend = await t.member();
    expect(await attempt(copyOperation({ counterpart: friend.id }))).toBe('ok');
    expect(await attempt(copyOperation({ counterpart: theirs.id }))).toBe('23503 operations_counterpart_fkey');
  });

  it('a lot and an entry name one of their member\'s wallets in their program', async () => {
    expect(await attempt(copyLot({}))).toBe('ok');
    expect(await attempt(copyLot({ member: theirs.id }))).toBe('23503 lots_member_wallet_fkey');
    expect(await attempt(copyLot({ wallet: ids!.their_wallet }))).toBe('23503 lots_member_wallet_fkey');
    expect(await attempt(copyEntry({}))).toBe('ok');
    expect(await attempt(copyEntry({ program: other.id }))).toBe('23503 entries_member_wallet_fkey');
    expect(await attempt(copyEntry({ member: theirs.id }))).toBe('23503 entries_member_wallet_fkey');
    expect(await attempt(copyEntry({ member: null }))).toBe('23502 member_id');
  });

  it('awards, rule points and order events reference their program\'s member or order, and no order or ledger row references the shared program and wallet rows directly', async () => {
    const { rows } = await sql<{ table: string; definition: string }>`
      select conrelid::regclass::text as table, pg_get_constraintdef(oid) as definition from pg_constraint
      where contype = 'f' and conrelid::regclass::text in ('operations', 'lots', 'entries', 'awards', 'rule_points', 'order_events')
      order by 1, 2`.execute(t.db.db);
    const of = (table: string) => rows.filter((r) => r.table === table).map((r) => r.definition);
    expect(of('awards')).toContain('FOREIGN KEY (program_id, member_id) REFERENCES members(program_id, id)');
    expect(of('rule_points')).toContain('FOREIGN KEY (program_id, member_id) REFERENCES members(program_id, id)');
    expect(of('awards')).toContain('FOREIGN KEY (program_id, order_id) REFERENCES orders(program_id, id)');
    expect(of('order_events')).toContain('FOREIGN KEY (program_id, order_id) REFERENCES orders(program_id, id)');
    for (const table of ['operations', 'lots', 'entries']) {
      expect(of(table)).toContain('FOREIGN KEY (program_id, member_id, wallet_id) REFERENCES member_wallets(program_id, member_id, wallet_id)');
    }
    expect(rows.filter((r) => /REFERENCES (programs|wallets)\(|\(member_id\) REFERENCES members\(id\)|\(order_id\) REFERENCES orders\(id\)/.test(r.definition))).toEqual([]);
  });
});
