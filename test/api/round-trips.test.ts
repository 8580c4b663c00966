import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

/**
 * Round trips are what a request costs (docs/benchmarks.md): these are designed properties of
 * the hot paths, counted, not timed. A change that adds statements to them shows here.
 */
describe('statements per request on the hot paths', async () => {
  const t = await setupTestApp();
  let counted = 0;
  const wrapped = new WeakSet<object>();
  t.db.pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      counted++;
      return query(...args);
    };
  });
  const count = async (send: () => Promise<{ status: number }>, status: number) => {
    counted = 0;
    expect((await send()).status).toBe(status);
    return counted;
  };
  const member = await t.member();
  await t.earn(member.id, 10);

  it('a balance read with nothing due is one statement, with no transaction', async () => {
    expect(await count(() => t.call('GET', `/v1/members/${member.id}/balances/points`), 200)).toBe(1);
    expect(await count(() => t.call('GET', `/v1/members/${member.id}/balances`), 200)).toBe(1);
  });

  it('an earn into a wallet that owes nothing is at most 11 statements, begin and commit included', async () => {
    expect(await count(() => t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 } }), 201)).toBeLessThanOrEqual(11);
  });

  it('a replayed earn is only the key lookup: lock, read, commit', async () => {
    const key = 'replay-round-trips';
    await t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 }, idempotencyKey: key });
    expect(await count(() => t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 }, idempotencyKey: key }), 201)).toBeLessThanOrEqual(4);
  });
});
