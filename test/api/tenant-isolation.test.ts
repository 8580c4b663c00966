import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

/**
 * Walks every /v1 operation of the OpenAPI document (so routes added later are covered without
 * editing this file) with program B's key on program A's ids, and checks that B never sees or
 * changes anything of A's: 404 for A's ids, never 403, never 5xx, never a 2xx carrying A's data.
 */

type Schema = Record<string, any>;
type Operation = { method: string; path: string; op: Schema };

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STRING_CANDIDATES = ['x', 'points', 'abc', 'a1', 'A1', 'x_1', 'xyz1', '1', 'en', 'USD', 'test-value'];

describe('tenant isolation', async () => {
  const t = await setupTestApp();
  const a = t.program;
  const b = await t.newProgram({ name: 'Program B' });
  const doc = (await t.call('GET', '/openapi.json', { key: null })).body;
  const operations: Operation[] = Object.entries(doc.paths as Record<string, Schema>)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, item]) => Object.entries(item).filter(([m]) => METHODS.includes(m)).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));

  const resolve = (schema: Schema | undefined): Schema => {
    let s = schema ?? {};
    for (let depth = 0; s.$ref && depth < 10; depth++) s = doc.components.schemas[String(s.$ref).split('/').pop()!] ?? {};
    return s;
  };

  // ---- Program A's data: the fixtures of the core, then whatever other collections accept. ----
  /** Known values of A per collection (last static path segment) and field, e.g. members.id. */
  const known: Record<string, Record<string, string>> = {};
  const remember = (collection: string, field: string, value: unknown) => {
    if (typeof value !== 'string') return;
    known[collection] ??= {};
    known[collection]![field] ??= value;
  };
  const call = (method: string, url: string, key: string, body?: unknown) =>
    t.call(method, url, { key, body, idempotencyKey: method === 'GET' ? undefined : randomUUID() });

  const m1 = await t.member({ customerId: 'a-cust-1', email: 'a1@tenant-a.example', phone: '+14155550181', tags: ['a-tag'] });
  const m2 = await t.member({ customerId: 'a-cust-2', email: 'a2@tenant-a.example' });
  const earned = await t.earn(m1.id, 1_000);
  const spent = (await call('POST', `/v1/members/${m1.id}/spend`, a.key, { amount: 100 })).body;
  const reservation = (await call('POST', `/v1/members/${m1.id}/reservations`, a.key, { amount: 50 })).body.reservation;
  const store = (await call('POST', '/v1/stores', a.key, { code: 'a-store', name: 'A store', kind: 'pos' })).body;
  const apiKey = (await call('POST', '/v1/api-keys', a.key, { name: 'A second key' })).body;
  const wallet = (await call('POST', '/v1/wallets', a.key, { code: 'a_only', name: 'Only A' })).body;
  remember('members', 'id', m1.id);
  remember('members', 'customerId', m1.customerId);
  remember('by-customer-id', 'customerId', m1.customerId);
  remember('operations', 'id', earned.operation.id);
  remember('reservations', 'id', reservation.id);
  remember('stores', 'id', store.id);
  remember('api-keys', 'id', apiKey.key.id);
  remember('wallets', 'code', wallet.code);
  remember('wallets', 'id', wallet.id);

  /** Values for fields by name, wherever they appear (path, query, body). */
  const byField: Record<string, string> = {
    memberId: m1.id, fromMemberId: m1.id, toMemberId: m2.id, customerId: m1.customerId, email: m1.email, phone: m1.phone,
    operationId: earned.operation.id, reservationId: reservation.id, storeId: store.id, walletId: wallet.id,
  };

  // ---- A minimal valid example of a JSON schema, with A's values for id-like fields. ----
  function example(schemaIn: Schema | undefined, name = '', depth = 0): unknown {
    const schema = resolve(schemaIn);
    if (depth > 8) return undefined;
    if ('const' in schema) return schema.const;
    if (schema.enum) return schema.enum[0];
    if ('default' in schema && schema.default !== null) return schema.default;
    const variants = schema.anyOf ?? schema.oneOf;
    if (variants) {
      const nonNull = variants.map(resolve).find((v: Schema) => v.type !== 'null');
      return example(nonNull ?? variants[0], name, depth + 1);
    }
    if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: Schema) => example(s, name, depth + 1)));
    const type = Array.isArray(schema.type) ? schema.type.find((x: string) => x !== 'null') : schema.type;
    switch (type ?? (schema.properties ? 'object' : undefined)) {
      case 'object': {
        const out: Record<string, unknown> = {};
        const props = (schema.properties ?? {}) as Record<string, Schema>;
        const required = new Set<string>(schema.required ?? []);
        for (const [key, prop] of Object.entries(props)) {
          const idLike = byField[key] !== undefined && (resolve(prop).format === 'uuid' || /Id$/.test(key));
          if (required.has(key) || idLike) out[key] = example(prop, key, depth + 1);
        }
        for (const [key, prop] of Object.entries(props)) {
          if (Object.keys(out).length >= (schema.minProperties ?? 0)) break;
          if (!(key in out)) out[key] = example(prop, key, depth + 1);
        }
        return out;
      }
      case 'array':
        return Array.from({ length: schema.minItems ?? 0 }, () => example(schema.items, name, depth + 1));
      case 'integer':
      case 'number': {
        const min = schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : schema.minimum;
        const value = Math.max(min ?? 1, 1);
        return schema.maximum !== undefined ? Math.min(value, schema.maximum) : value;
      }
      case 'boolean':
        return false;
      case 'string': {
        if (byField[name] !== undefined && (schema.format === 'uuid' || !schema.format)) return byField[name];
        switch (schema.format) {
          case 'uuid': return randomUUID();
          case 'date-time': return new Date().toISOString();
          case 'date': return '2000-01-01';
          case 'email': return 'someone@example.com';
          case 'uri': case 'url': return 'https://example.com/hook';
        }
        const pattern = schema.pattern ? new RegExp(schema.pattern) : undefined;
        const min = schema.minLength ?? 1;
        const fits = (s: string) => s.length >= min && (schema.maxLength === undefined || s.length <= schema.maxLength) && (!pattern || pattern.test(s));
        return STRING_CANDIDATES.find(fits) ?? [...STRING_CANDIDATES.map((c) => c.padEnd(min, 'x'))].find(fits) ?? 'x'.repeat(min);
      }
      default:
        return {};
    }
  }

  const staticSegment = (path: string, param: string) => {
    const segments = path.split('/');
    const at = segments.indexOf(`{${param}}`);
    return segments.slice(0, at).reverse().find((s) => !s.startsWith('{')) ?? '';
  };

  /** Fills an operation's path (A's ids where known), query (A's identifying values) and body. */
  function request(o: Operation) {
    const foreign: string[] = [];
    let url = o.path;
    const query = new URLSearchParams();
    for (const param of (o.op.parameters ?? []) as Schema[]) {
      if (param.in === 'path') {
        const collection = staticSegment(o.path, param.name);
        const value = known[collection]?.[param.name] ?? (param.name === 'wallet' ? 'points' : byField[param.name] ?? (resolve(param.schema).format === 'uuid' ? randomUUID() : String(example(param.schema, param.name))));
        if (param.name !== 'wallet' && (UUID.test(value) || known[collection]?.[param.name] === value) && !(collection === 'by-customer-id')) foreign.push(`${param.name}=${value}`);
        url = url.replace(`{${param.name}}`, encodeURIComponent(value));
      } else if (param.in === 'query') {
        const value = byField[param.name] ?? (param.required ? example(param.schema, param.name) : undefined);
        if (value !== undefined) query.set(param.name, String(value));
      }
    }
    if (o.path === '/v1/members/lookup') for (const key of [...query.keys()]) if (key !== 'customerId') query.delete(key);
    const bodySchema = o.op.requestBody?.content?.['application/json']?.schema;
    const body = bodySchema ? example(bodySchema) : undefined;
    const bodyText = JSON.stringify(body ?? null);
    const bodyForeign = Object.values(byField).filter((v) => UUID.test(v) && bodyText.includes(v));
    return { url: query.size ? `${url}?${query}` : url, body, foreign: [...foreign, ...bodyForeign] };
  }

  // Other modules' collections: create one of each as A, so their item routes get A's ids too.
  for (const o of operations.filter((x) => x.method === 'POST' && !x.path.includes('{'))) {
    const collection = o.path.split('/').pop()!;
    if (known[collection]) continue;
    const { url, body } = request(o);
    const res = await call('POST', url, a.key, body);
    if (res.status >= 300) continue;
    const created = res.body?.id ? res.body : Object.values(res.body ?? {}).find((v: any) => v && typeof v === 'object' && typeof v.id === 'string');
    if (created) for (const [field, value] of Object.entries(created as Record<string, unknown>)) if (field === 'id' || field === 'code') remember(collection, field, value);
  }

  const aSecrets = new Set<string>([a.id, m1.id, m2.id, m1.email, m2.email, m1.phone, earned.operation.id, spent.operation.id, reservation.id, store.id, apiKey.key.id, wallet.id, apiKey.secret, a.key]);
  for (const fields of Object.values(known)) for (const value of Object.values(fields)) if (UUID.test(value)) aSecrets.add(value);

  async function snapshotOfA() {
    const get = async (url: string) => (await t.call('GET', url, { key: a.key })).body;
    const verify = await get('/v1/ledger/verify');
    const count = async (table: 'members' | 'entries' | 'operations' | 'audit_events' | 'events' | 'api_keys') =>
      Number((await t.db.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).where('program_id', '=', a.id).executeTakeFirstOrThrow()).n);
    return {
      ok: verify.ok, totals: verify.totals,
      counts: { members: await count('members'), entries: await count('entries'), operations: await count('operations'), audit: await count('audit_events'), events: await count('events'), keys: await count('api_keys') },
      program: await get('/v1/program'),
      members: (await get('/v1/members?limit=200')).data,
      balance: await get(`/v1/members/${m1.id}/balances/points`),
      reservation: await get(`/v1/reservations/${reservation.id}`),
      stores: await get('/v1/stores'), wallets: await get('/v1/wallets'),
      keys: (await get('/v1/api-keys')).data.map(({ lastUsedAt: _ignored, ...k }: any) => k),
    };
  }

  // Codes decided from the request's own values, before any row is read.
  const PRE_LOOKUP_CODES = new Set(['unknown_message_kind', 'unknown_locale']);

  it('walks every /v1 route with program B’s key without reaching program A', async () => {
    const before = await snapshotOfA();
    expect(before.ok).toBe(true);
    const defects: string[] = [];
    let foreignChecked = 0;
    for (const o of operations) {
      const { url, body, foreign } = request(o);
      const res = await call(o.method, url, b.key, body);
      const name = `${o.method} ${url}`;
      // DEBUG_WALK=1 prints each request of the walk and its answer.
      if (process.env.DEBUG_WALK) console.log(name, JSON.stringify(body), foreign.length, res.status, JSON.stringify(res.body).slice(0, 100));
      const text = JSON.stringify(res.body);
      if (res.status === 403) defects.push(`${name}: 403 (must be 404)`);
      if (res.status >= 500) defects.push(`${name}: ${res.status} ${text.slice(0, 200)}`);
      if (res.status < 300) for (const secret of aSecrets) if (text.includes(secret)) defects.push(`${name}: ${res.status} response contains A's ${secret}`);
      if (foreign.length) {
        foreignChecked++;
        // A request refused by its schema (or by a check of its literal values) before any data is
        // read cannot tell B anything about A; everything else must be a 404.
        const refusedBeforeLookup = res.status === 400 && res.body?.code === 'validation_failed' || PRE_LOOKUP_CODES.has(res.body?.code);
        if (res.status !== 404 && !refusedBeforeLookup) defects.push(`${name} with A's ${foreign.join(', ')}: ${res.status} ${text.slice(0, 200)} (must be 404)`);
      }
    }
    expect(defects).toEqual([]);
    // The core's item routes alone take A's ids in more than 20 operations.
    expect(foreignChecked).toBeGreaterThan(20);
    expect(await snapshotOfA()).toEqual(before);
    // A's keys still work, B's walk revoked nothing of A's.
    expect((await t.call('GET', '/v1/program', { key: apiKey.secret })).status).toBe(200);
  });

  it('answers every /v1 route without a key with a 401 problem', async () => {
    const defects: string[] = [];
    for (const o of operations) {
      const { url, body } = request(o);
      const res = await call(o.method, url, '', body);
      if (res.status !== 401 || res.body?.code !== 'unauthorized') defects.push(`${o.method} ${url}: ${res.status}`);
    }
    expect(defects).toEqual([]);
    expect(operations.length).toBeGreaterThan(30);
  });
});
