import { describe, expect, it } from 'vitest';
import { connectSession, setupTestApp } from '../helpers.ts';

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
