import { describe, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
describe('x', async () => {
  const t = await setupTestApp();
  it('y', async () => {
    const r = await t.app.inject({ method: 'DELETE', url: '/v1/message-templates/-9007199254740993/Infinity', headers: { authorization: `Bearer ${t.program.key}`, 'idempotency-key': 'x'.repeat(5000) } });
    console.log('LONGKEY', r.statusCode, r.body.slice(0, 200));
    const r2 = await t.app.inject({ method: 'DELETE', url: '/v1/message-templates/welcome/en', headers: { authorization: `Bearer ${t.program.key}`, 'idempotency-key': 'x'.repeat(5000) } });
    console.log('LONGKEY2', r2.statusCode, r2.body.slice(0, 200));
  });
});
