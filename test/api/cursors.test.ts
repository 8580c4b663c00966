import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('list cursors', async () => {
  const t = await setupTestApp();
  const member = await t.member();
  const lists = [
    '/v1/members', '/v1/rewards', '/v1/rules', '/v1/messages', '/v1/imports', '/v1/webhook-deliveries',
    `/v1/members/${member.id}/actions`, `/v1/members/${member.id}/orders`, `/v1/members/${member.id}/entries`,
    `/v1/members/${member.id}/awards`, `/v1/members/${member.id}/tier/history`,
  ];

  it('answers a cursor the API did not return with a 400 on the cursor field, on every list', async () => {
    // Well-formed on the outside, wrong inside: an id that is not a UUID reached SQL as a 500 on one list.
    const forged = ['x', b64(['2030-01-01T00:00:00.000Z', 'not-a-uuid']), b64(['yesterday', '0b7c3a5e-1d2f-4a6b-8c9d-0e1f2a3b4c5d']), b64([1]), '0', '-5', '1e3'];
    for (const path of lists) {
      for (const cursor of forged) {
        const res = await t.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`);
        expect(res.status, `${path} cursor=${cursor}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.body).toMatchObject({ code: 'validation_failed' });
      }
    }
  });
});
