import { describe, expect, it } from 'vitest';
import { claimKeys } from '../../src/idempotency/idempotency-repository.ts';
import { inTransaction } from '../../src/idempotency/run-idempotent.ts';
import { openLedgerContext } from '../../src/ledger/ledger-context.ts';
import { lockMemberWalletsByCode } from '../../src/ledger/ledger-repository.ts';
import { connectSession, setupTestApp, statementCounter } from '../helpers.ts';

/**
 * laurel_lock_member_wallets (migration 0010) locks member wallets and reads their balances in
 * one statement. Its read must see what the wallet's previous holder committed while it waited
 * for the lock, or an operation would decide on a balance that is no longer true.
 */
describe('laurel_lock_member_wallets', async () => {
  const t = await setupTestApp();
  const program = t.program.id;
  const connect = () => connectSession(t.db.url);
  const lockSql = `select mw_id, member_id, code, status, available, pending, due from laurel_lock_member_wallets($1, $2, $3, now())`;

  it('returns the wallets of the pairs that exist, with balances, and none for the others', async () => {
    const m = await t.member();
    await t.earn(m.id, 7);
    const client = await connect();
    try {
      const { rows } = await client.query(lockSql, [program, [m.id, m.id, m.id, '00000000-0000-4000-8000-000000000000'], ['points', 'points', 'nowhere', 'points']]);
      expect(rows).toEqual([{ mw_id: expect.any(Number), member_id: m.id, code: 'points', status: 'active', available: 7, pending: 0, due: false }]);
    } finally {
      await client.end();
    }
  });

  it('reads after taking the lock: a balance committed while it waited is seen', async () => {
    const m = await t.member();
    await t.earn(m.id, 10);
    const [holder, locker] = [await connect(), await connect()];
    try {
      await holder.query('begin');
      await holder.query(lockSql, [program, [m.id], ['points']]);
      await holder.query(`update accounts set balance = balance + 5 where id = (select available_account_id from member_wallets where member_id = $1)`, [m.id]);
      // The locker's statement begins (its snapshot) while the holder still has the wallet, waits
      // for the lock, and reads once the holder committed: the balance it returns is 15. One
      // SELECT … FOR UPDATE joining the accounts would return the locked row's new version but
      // the accounts as of its start, 10.
      const locked = locker.query(lockSql, [program, [m.id], ['points']]);
      await new Promise((r) => setTimeout(r, 150));
      await holder.query('commit');
      expect((await locked).rows.map((r) => r.available)).toEqual([15]);
    } finally {
      await holder.end();
      await locker.end();
    }
  });
});

/**
 * laurel_claim_keys_locking_wallets (migration 0016): an earn batch's key claim that also locks
 * its member wallets, for the transaction's next lockMemberWalletsByCode.
 */
describe('a key claim that locks member wallets', async () => {
  const t = await setupTestApp();
  const program = t.program.id;
  const statements = statementCounter(t.db.pool);
  const connect = () => connectSession(t.db.url);
  const pair = (memberId: string) => ({ memberId, walletCode: 'points' });

  it('claims as the plain claim does, and the next lock of those wallets in its transaction is the rows it read', async () => {
    const [a, b] = [await t.member(), await t.member()];
    await t.earn(a.id, 3);
    await t.earn(b.id, 4);
    await inTransaction(t.db.db, async (trx) => {
      const claimed = await claimKeys(trx, program, ['lw-1', 'lw-2'], { pairs: [pair(a.id), pair(b.id)], at: undefined });
      expect([...claimed]).toEqual([['lw-1', null], ['lw-2', null]]);
      const ctx = await openLedgerContext(trx, program, 'test');
      statements.count = 0;
      const ahead = await lockMemberWalletsByCode(trx, program, [pair(b.id)], ctx.now);
      expect(statements.count).toBe(0);
      expect([...ahead.values()].map((w) => [w.state.memberId, w.state.available, w.state.due])).toEqual([[b.id, 4, false]]);
      // Taken once: the next call locks and reads again, and finds the same.
      const again = await lockMemberWalletsByCode(trx, program, [pair(b.id)], ctx.now);
      expect(statements.count).toBe(1);
      expect(again).toEqual(ahead);
    });
  });

  it('is not used for another wallet or another instant', async () => {
    const [a, b] = [await t.member(), await t.member()];
    await t.earn(a.id, 1);
    await t.earn(b.id, 1);
    await inTransaction(t.db.db, async (trx) => {
      await claimKeys(trx, program, ['lw-3'], { pairs: [pair(a.id)], at: undefined });
      const ctx = await openLedgerContext(trx, program, 'test');
      statements.count = 0;
      expect((await lockMemberWalletsByCode(trx, program, [pair(a.id), pair(b.id)], ctx.now)).size).toBe(2);
      expect(statements.count).toBe(1);
    });
    await inTransaction(t.db.db, async (trx) => {
      await claimKeys(trx, program, ['lw-4'], { pairs: [pair(a.id)], at: new Date('2031-01-01T00:00:00Z') });
      statements.count = 0;
      await lockMemberWalletsByCode(trx, program, [pair(a.id)], new Date('2031-01-01T00:00:01Z'));
      expect(statements.count).toBe(1);
    });
  });

  it('locks and returns no wallet of another program’s member', async () => {
    const other = await t.newProgram({ name: 'Other shop' });
    const theirs = await t.member({}, other);
    await t.earn(theirs.id, 6, {}, other);
    const outsider = await connect();
    try {
      await inTransaction(t.db.db, async (trx) => {
        expect((await claimKeys(trx, program, ['lw-other'], { pairs: [pair(theirs.id)], at: undefined })).size).toBe(1);
        // Not locked: its own program's session takes it at once.
        expect((await outsider.query(`select id from member_wallets where member_id = $1 for update nowait`, [theirs.id])).rows).toHaveLength(1);
        const ctx = await openLedgerContext(trx, program, 'test');
        statements.count = 0;
        expect((await lockMemberWalletsByCode(trx, program, [pair(theirs.id)], ctx.now)).size).toBe(0);
        expect(statements.count).toBe(0);
      });
    } finally {
      await outsider.end();
    }
  });

  it('locks the wallets after the keys, and none when it took no key', async () => {
    const m = await t.member();
    await t.earn(m.id, 2);
    const [holder, other] = [await connect(), await connect()];
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [`${program}:lw-held`]);
      await inTransaction(t.db.db, async (trx) => {
        expect((await claimKeys(trx, program, ['lw-held'], { pairs: [pair(m.id)], at: undefined })).size).toBe(0);
        // Not locked: another session takes the wallet at once.
        const { rows } = await other.query(`select id from member_wallets where member_id = $1 for update nowait`, [m.id]);
        expect(rows).toHaveLength(1);
      });
      await holder.query('rollback');
      await inTransaction(t.db.db, async (trx) => {
        expect((await claimKeys(trx, program, ['lw-free'], { pairs: [pair(m.id)], at: undefined })).size).toBe(1);
        await expect(other.query(`select id from member_wallets where member_id = $1 for update nowait`, [m.id])).rejects.toThrow(/could not obtain lock/);
      });
    } finally {
      await holder.end();
      await other.end();
    }
  });

  it('reads the wallets after their locks: a balance committed while it waited is seen', async () => {
    const m = await t.member();
    await t.earn(m.id, 10);
    const holder = await connect();
    try {
      await holder.query('begin');
      await holder.query(`select id from member_wallets where member_id = $1 for update`, [m.id]);
      await holder.query(`update accounts set balance = balance + 5 where id = (select available_account_id from member_wallets where member_id = $1)`, [m.id]);
      const read = inTransaction(t.db.db, async (trx) => {
        await claimKeys(trx, program, ['lw-race'], { pairs: [pair(m.id)], at: undefined });
        const ctx = await openLedgerContext(trx, program, 'test');
        // What the claim's statement read, not a read of its own.
        statements.count = 0;
        const wallets = await lockMemberWalletsByCode(trx, program, [pair(m.id)], ctx.now);
        expect(statements.count).toBe(0);
        return [...wallets.values()].map((w) => w.state.available);
      });
      await new Promise((r) => setTimeout(r, 150));
      await holder.query('commit');
      expect(await read).toEqual([15]);
    } finally {
      await holder.end();
    }
  });
});
