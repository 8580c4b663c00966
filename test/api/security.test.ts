import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.ts';
import { loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { setupTestApp } from '../helpers.ts';

function expectProblem(res: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: `urn:laurel:problem:${code}` });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
}

describe('authentication', async () => {
  const t = await setupTestApp();

  it('answers 401 problems for a missing, garbled or unknown key', async () => {
    const keyLike = `lrl_sk_${'A'.repeat(43)}`;
    const cases: Record<string, string>[] = [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }, { authorization: 'Bearer a b' }, { authorization: `Bearer ${keyLike}` }, { authorization: `Bearer ${t.program.key}x` }];
    for (const headers of cases) {
      const res = await t.call('GET', '/v1/program', { key: null, headers });
      expectProblem(res, 401, 'unauthorized');
    }
    expect((await t.call('GET', '/v1/program', { headers: { authorization: `bearer  ${t.program.key}` }, key: null })).status).toBe(200);
  });

  it('keeps public routes open: health, OpenAPI document, docs', async () => {
    expect((await t.call('GET', '/health', { key: null })).body).toEqual({ status: 'ok' });
    expect((await t.call('GET', '/openapi.json', { key: null })).status).toBe(200);
  });

  it('answers GET /health with a 503 problem when the database cannot be reached', async () => {
    const missing = new URL(t.db.url);
    missing.pathname = '/laurel_no_such_database';
    const unreachable = createDatabase(missing.toString(), 1);
    const app = await buildApp({ db: unreachable.db, config: loadConfig({ databaseUrl: missing.toString() }), logger: false });
    try {
      const res = await app.inject({ method: 'GET', url: '/health' });
      expectProblem({ status: res.statusCode, body: res.json(), headers: res.headers }, 503, 'service_unavailable');
      expect(res.json().instance).toBe('/health');
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await app.close();
      await unreachable.close();
    }
  });
});

describe('request hygiene', async () => {
  const t = await setupTestApp({ config: { bodyLimitBytes: 2_048 } });

  it('rejects oversized bodies with 413 and stores nothing', async () => {
    const res = await t.call('POST', '/v1/members', { body: { customerId: 'big', attributes: { blob: 'x'.repeat(4_000) } } });
    expectProblem(res, 413, 'body_too_large');
    expect((await t.call('GET', '/v1/members/lookup?customerId=big')).status).toBe(404);
  });

  it('rejects invalid JSON with 400 invalid_json', async () => {
    for (const payload of ['{"customerId": ', '{customerId: 1}', '']) {
      const res = await t.call('POST', '/v1/members', { body: payload });
      expectProblem(res, 400, 'invalid_json');
    }
  });

  it('rejects bodies that are not JSON with 415', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/members', headers: { authorization: `Bearer ${t.program.key}`, 'content-type': 'text/plain' }, payload: 'customerId=1' });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'unsupported_media_type', status: 415 });
  });

  it('answers unknown routes with a 404 not_found problem', async () => {
    expectProblem(await t.call('GET', '/v1/no-such-thing'), 404, 'not_found');
    expectProblem(await t.call('GET', '/nowhere', { key: null }), 404, 'not_found');
  });

  it('answers wrong types and malformed ids with a 400 validation problem listing the errors', async () => {
    const res = await t.call('POST', '/v1/members', { body: { customerId: 12, marketingConsent: 'yes', extra: 1 } });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors.length).toBeGreaterThanOrEqual(3);
    expect(res.body.errors[0]).toHaveProperty('path');
    expectProblem(await t.call('GET', '/v1/members/not-a-uuid'), 400, 'validation_failed');
  });

  it('gives every response an x-request-id, echoing a sane given one and replacing an unsafe one', async () => {
    const fresh = await t.call('GET', '/v1/program');
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const other = await t.call('GET', '/v1/program');
    expect(other.headers['x-request-id']).not.toBe(fresh.headers['x-request-id']);
    expect((await t.call('GET', '/v1/program', { headers: { 'x-request-id': 'shop-req-42' } })).headers['x-request-id']).toBe('shop-req-42');
    const failed = await t.call('GET', '/v1/program', { key: null, headers: { 'x-request-id': 'shop-req-43' } });
    expect(failed.headers['x-request-id']).toBe('shop-req-43');
    expect(failed.body.requestId).toBe('shop-req-43');
    const unsafe = await t.call('GET', '/v1/program', { headers: { 'x-request-id': `bad id ${'x'.repeat(300)}` } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await t.call('GET', '/nowhere', { key: null })).headers['x-request-id']).toBeTruthy();
  });
});

describe('rate limiting', async () => {
  const t = await setupTestApp({ config: { rateLimitPerMinute: 5 } });

  it('limits each key separately with 429 and Retry-After', async () => {
    const other = await t.newProgram();
    for (let i = 0; i < 3; i++) {
      const ok = await t.call('GET', '/v1/program');
      expect(ok.status).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('5');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(4 - i));
      expect(Number(ok.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    }
    // Requests refused as invalid count as well.
    expect((await t.call('POST', '/v1/members', { body: '{' })).status).toBe(400);
    expect((await t.call('PATCH', '/v1/program', { body: {} })).status).toBe(400);
    const limited = await t.call('GET', '/v1/program');
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.body.detail).toMatch(/limit of 5 requests per minute/);
    expect((await t.call('GET', '/v1/program', { key: other.key })).status).toBe(200);
  });
});

describe('text PostgreSQL cannot hold, and hostile nesting (found by the fuzzer)', async () => {
  const t = await setupTestApp();

  it('answers U+0000 anywhere in params, query or body with a 400 naming where, and writes nothing', async () => {
    const member = await t.member();
    const before = (await t.call('GET', '/v1/members?limit=200')).body.data.length;
    expectProblem(await t.call('POST', '/v1/members', { body: { customerId: 'a\u0000b' } }), 400, 'validation_failed');
    const inKey = await t.call('POST', '/v1/members', { body: { customerId: 'nul-key', attributes: { 'k\u0000': 1 } } });
    expectProblem(inKey, 400, 'validation_failed');
    expect(inKey.body.field).toBe('body/attributes/k\\u0000');
    const inQuery = await t.call('GET', '/v1/members/lookup?customerId=a%00b');
    expectProblem(inQuery, 400, 'validation_failed');
    expect(inQuery.body.field).toBe('querystring/customerId');
    const inPath = await t.call('DELETE', '/v1/message-templates/%00/en');
    expectProblem(inPath, 400, 'validation_failed');
    expect(inPath.body.field).toBe('params/kind');
    const earnNul = await t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5, description: 'x\u0000' } });
    expectProblem(earnNul, 400, 'validation_failed');
    const csv = await t.call('POST', '/v1/imports/members', { body: 'customer_id,balance\nok-1,5\nbad\u0000,5\n', headers: { 'content-type': 'text/csv' } });
    expectProblem(csv, 400, 'validation_failed');
    expect(csv.body.line).toBe(3);
    expect((await t.call('GET', '/v1/members?limit=200')).body.data.length).toBe(before);
    expect((await t.call('GET', `/v1/members/${member.id}/balances/points`)).body.available).toBe(0);
  });

  it('reports an escaped U+0000 in an NDJSON line as that row’s error', async () => {
    const body = `{"customerId":"nd-ok","balance":3}\n{"customerId":"nd-bad\\u0000","balance":3}\n`;
    const res = await t.call('POST', '/v1/imports/members', { body, headers: { 'content-type': 'application/x-ndjson' } });
    expectProblem(res, 422, 'import_rejected');
    expect(res.body.report.errors).toEqual([{ line: 2, code: 'validation_failed', field: 'customerId', message: 'customerId contains the NUL character (U+0000), which text cannot hold' }]);
    expect((await t.call('GET', '/v1/members/lookup?customerId=nd-ok')).status).toBe(404);
    await t.member({ customerId: 'nd-adj' });
    const adjustments = `{"customerId":"nd-adj","amount":2,"reason":"goodwill"}\n{"customerId":"nd-adj","amount":2,"reason":"bad\\u0000"}\n`;
    const adjusted = await t.call('POST', '/v1/imports/adjustments', { body: adjustments, headers: { 'content-type': 'application/x-ndjson' } });
    expectProblem(adjusted, 422, 'import_rejected');
    expect(adjusted.body.report.errors).toEqual([{ line: 2, code: 'validation_failed', field: 'reason', message: 'reason contains the NUL character (U+0000), which text cannot hold' }]);
    const skipping = await t.call('POST', '/v1/imports/members?onInvalid=skip', { body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(skipping.status, JSON.stringify(skipping.body)).toBeLessThan(300);
    expect((await t.call('GET', '/v1/members/lookup?customerId=nd-ok')).status).toBe(200);
  });

  it('refuses JSON nested deeper than 32 levels with a 400, on routes with and without a body schema', async () => {
    const member = await t.member();
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    expectProblem(await t.call('POST', `/v1/members/${member.id}/threshold-notes`, { body: deep }), 400, 'validation_failed');
    let attributes: unknown = 'leaf';
    for (let i = 0; i < 40; i++) attributes = { k: attributes };
    expectProblem(await t.call('POST', '/v1/members', { body: { customerId: 'deep', attributes } }), 400, 'validation_failed');
    expect((await t.call('GET', '/v1/members/lookup?customerId=deep')).status).toBe(404);
  });
});
