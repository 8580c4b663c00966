import { describe, expect, it } from 'vitest';
import { setupTestApp } from './helpers.ts';

describe('smoke', async () => {
  const t = await setupTestApp();
  it('earns and spends', async () => {
    const m = await t.member();
    await t.earn(m.id, 500);
    const spend = await t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 200 } });
    expect(spend.status).toBe(201);
    expect(spend.body.balance.available).toBe(300);
    const verify = await t.call('GET', '/v1/ledger/verify');
    expect(verify.body.ok).toBe(true);
  });
});
