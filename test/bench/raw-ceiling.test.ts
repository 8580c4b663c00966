import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchProgram, type BenchProgram } from '../../bench/lib/fixtures.ts';
import { rawClient, rawLedgerWrites } from '../../bench/lib/workloads.ts';
import { createTestDatabase } from '../helpers.ts';

// The benchmark's reference writes: what they write, and that the unflushed variant changes only
// its own sessions' durability.
describe('the raw ceiling', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let program: BenchProgram;
  let tmp: string;
  beforeAll(async () => {
    database = await createTestDatabase(4);
    tmp = await mkdtemp(path.join(os.tmpdir(), 'raw-ceiling-'));
    program = await benchProgram(database.db, { name: 'raw', members: 20, balance: 1000, file: path.join(tmp, 'raw.csv') });
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('turns off the wait for the flush on its own connection only', async () => {
    // The test cluster runs without it (test/global-setup.ts); this database's sessions start durable.
    await sql.raw(`alter database ${new URL(database.url).pathname.slice(1)} set synchronous_commit = on`).execute(database.db);
    const unflushed = await rawClient(database.url, { waitForFlush: false });
    // Connected after the other's SET: a setting of the database would reach it, a session's does not.
    const flushed = await rawClient(database.url, { waitForFlush: true });
    try {
      expect((await unflushed.query('show synchronous_commit')).rows[0].synchronous_commit).toBe('off');
      expect((await flushed.query('show synchronous_commit')).rows[0].synchronous_commit).toBe('on');
    } finally {
      await Promise.all([unflushed.end(), flushed.end()]);
    }
  });

  for (const waitForFlush of [true, false]) {
    it(`writes one entry and one balance change per event answered (waitForFlush: ${waitForFlush})`, async () => {
      const before = await balances();
      const entriesBefore = await rawEntries();
      const result = await rawLedgerWrites(database.url, program, { concurrency: 3, durationMs: 300, waitForFlush });
      expect(result.ok).toBeGreaterThan(0);
      expect(result.failed + result.networkErrors).toBe(0);
      const entries = await rawEntries();
      expect(entries.length - entriesBefore.length).toBe(result.ok);
      // Every member's cached balance moved by exactly the amounts of its new entries.
      const after = await balances();
      const added = new Map<string, bigint>();
      for (const e of entries.slice(entriesBefore.length)) added.set(e.credit_account_id, (added.get(e.credit_account_id) ?? 0n) + BigInt(e.amount));
      for (const m of program.members) {
        const id = String(m.availableAccountId);
        expect(BigInt(after.get(id)!) - BigInt(before.get(id)!)).toBe(added.get(id) ?? 0n);
      }
    });
  }

  async function balances() {
    const { rows } = await sql<{ id: string; balance: string }>`
      select id::text, balance::text from accounts where id = any(${program.members.map((m) => m.availableAccountId)}::bigint[])`.execute(database.db);
    return new Map(rows.map((r) => [r.id, r.balance]));
  }
  async function rawEntries() {
    const { rows } = await sql<{ credit_account_id: string; amount: string }>`
      select credit_account_id::text, amount::text from entries where program_id = ${program.id} and operation_id is null order by id`.execute(database.db);
    return rows;
  }
});
