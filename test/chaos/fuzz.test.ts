import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { check, newSummary, progress, publishSummary, type Summary } from './harness.ts';
import { ORDERS, REWARDS, tableCounts } from './world.ts';

/**
 * Every route of /openapi.json, fed generated invalid and hostile input (fast-check): never a
 * 5xx, never a write. Then every route again with another program's key and this program's ids:
 * nothing leaks, nothing changes.
 */

const RUNS_PER_ROUTE = Number(process.env.CHAOS_FUZZ_RUNS ?? 20);
/** CHAOS_SEED replays a run (CI pins one); otherwise every run explores new inputs. Route i uses seed + i. */
const SEED = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);

type Operation = {
  method: string;
  path: string;
  params: { name: string; in: string; schema: any }[];
  body?: { types: string[]; schema: any; required: boolean };
};

const HOSTILE = [
  "' OR '1'='1", "'; drop table members; --", '1; select pg_sleep(10)', '" OR ""="', '{"$gt":""}', '$where', '../../etc/passwd', '%00', '\u0000',
  '__proto__', 'constructor', 'prototype', '<script>alert(1)</script>', '${jndi:ldap://x/a}', 'NaN', 'Infinity', '-1', '0', '1e309',
  '9007199254740993', '-9007199254740993', '1.5', '😀'.repeat(40), '\u202e\u0301', ' ', '', 'null', 'true', '[]', '{}',
];
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constant('x'.repeat(5_000)) },
);
const OVERSIZED = `{"a":"${'x'.repeat(1_200_000)}"}`;
const PROTO = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}';

/** A body that no route accepts: wrong JSON type, malformed, polluted keys, oversized, or the wrong media type. */
function invalidBody(op: Operation) {
  const strictObject = op.body?.schema?.type === 'object' && op.body.schema.additionalProperties === false;
  const json = (text: string) => ({ text, type: 'application/json' });
  return fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)).map((v) => json(JSON.stringify(v) ?? 'null')),
    fc.constantFrom('{', '{"a":}', '{"amount":1,,}', '\ufeff{"a":1', '[1,2', 'undefined', "{'single':1}", '{"a":1}{"b":2}', '\u0000').map(json),
    fc.constant(json(`${'['.repeat(5_000)}${']'.repeat(5_000)}`)),
    fc.constant(json('[1e400, -1e400]')),
    fc.constant(json(OVERSIZED)),
    fc.record({ text: hostileString, type: fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x') }),
    ...(strictObject ? [fc.dictionary(fc.constantFrom('amount', 'customerId', 'wallet', 'x', 'reason'), fc.jsonValue({ maxDepth: 2 })).map((o) => json(`${PROTO},${JSON.stringify(o).slice(1)}`.replace(/,}$/, '}')))] : []),
  );
}

/** CSV and NDJSON uploads that cannot import anything: an unknown header, or hostile lines. */
const invalidUpload = fc.oneof(
  fc.tuple(hostileString, hostileString).map(([a, b]) => ({ text: `${a.replace(/[\r\n,]/g, '') || 'x'}_col,balance\n${b}\n`, type: 'text/csv' })),
  fc.constantFrom(`${PROTO}}\n`, '{"customerId":"x","balance":1e400}\n', '{"customerId":', '[1]\n').map((text) => ({ text, type: 'application/x-ndjson' })),
);

function operationsOf(doc: any): Operation[] {
  const out: Operation[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const content = op.requestBody?.content ?? {};
      const types = Object.keys(content);
      out.push({
        method: method.toUpperCase(), path, params: op.parameters ?? [],
        body: types.length ? { types, schema: content[types[0]!].schema, required: !!op.requestBody.required } : undefined,
      });
    }
  }
  return out;
}

async function rowCounts(db: any): Promise<Record<string, number>> {
  const tables = ['programs', 'api_keys', 'wallets', 'stores', 'members', 'member_wallets', 'accounts', 'operations', 'entries', 'lots', 'reservations', 'rules', 'rewards', 'reward_redemptions', 'orders', 'tiers', 'webhook_endpoints'];
  const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name = any(${tables})`.execute(db);
  const counts: Record<string, number> = {};
  for (const { name } of rows) counts[name] = Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(name)}`.execute(db)).rows[0]!.n);
  return counts;
}

describe('hostile input on every route', async () => {
  const t = await setupTestApp();
  const a = t.program;
  const b = await t.newProgram();
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const operations = operationsOf(doc);

  // Program A's data: what the attacker (program B) must neither see nor touch.
  const secretCustomer = `tenant-a-${randomUUID()}`;
  const member = await t.member({ customerId: secretCustomer, email: `${secretCustomer}@example.com`, firstName: 'Secret' });
  const earned = await t.earn(member.id, 500);
  const spent = (await t.call('POST', `/v1/members/${member.id}/spend`, { body: { amount: 20 } })).body;
  const held = (await t.call('POST', `/v1/members/${member.id}/reservations`, { body: { amount: 10 } })).body;
  const imported = (await t.call('POST', '/v1/imports/members', { body: `customer_id,balance\n${secretCustomer}-2,7\n`, headers: { 'content-type': 'text/csv' }, idempotencyKey: false })).body;
  const secretIds = [member.id, earned.operation.id, spent.operation.id, held.reservation.id, held.reservation.operationId, imported.batchId].filter(Boolean) as string[];
  if (ORDERS) {
    await t.call('POST', '/v1/rules', { body: { kind: 'base_rate', name: 'A rule', config: { points: 1, perAmountMinor: 100 } } });
    const order = await t.call('POST', '/v1/orders/events', { idempotencyKey: false, body: { orderId: `${secretCustomer}-order`, eventId: 'p', type: 'paid', occurredAt: new Date().toISOString(), order: { currency: 'USD', customer: { memberId: member.id }, lines: [{ id: 'l', quantity: 1, unitPriceMinor: 1000 }] } } });
    secretIds.push(order.body.order.id);
  }
  if (REWARDS) {
    const reward = await t.call('POST', '/v1/rewards', { body: { kind: 'free_shipping', name: 'A reward', costPoints: 10 } });
    const redemption = await t.call('POST', `/v1/members/${member.id}/redemptions`, { body: { rewardId: reward.body.id } });
    secretIds.push(reward.body.id, redemption.body.id);
  }
  const secrets = [...secretIds, secretCustomer];

  const inject = async (summary: Summary, key: string | undefined, req: { method: string; url: string; text?: string; type?: string; headers?: Record<string, string> }) => {
    summary.requestsSent++;
    const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...req.headers };
    if (req.text !== undefined) headers['content-type'] = req.type ?? 'application/json';
    const res = await t.app.inject({ method: req.method as 'GET', url: req.url, headers, ...(req.text !== undefined ? { payload: req.text } : {}) });
    if (res.statusCode < 500) summary.acknowledged++;
    return res;
  };

  it('never answers 5xx and never writes', async () => {
    const summary = newSummary('fuzzing every route (fast-check)');
    const counts = await rowCounts(t.db.db);
    progress(`fuzzing ${operations.length} routes, ${RUNS_PER_ROUTE} generated requests each, CHAOS_SEED=${SEED}`);
    for (const [index, op] of operations.entries()) {
      const isUpload = op.body?.types.includes('text/csv');
      const pathValues = fc.record(Object.fromEntries(op.params.filter((p) => p.in === 'path').map((p) => [p.name, hostileString])) as Record<string, fc.Arbitrary<string>>);
      const query = fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'email', 'customerId', 'wallet', 'format', 'orderId', '__proto__', '$where', 'a[b]'), hostileString, { maxKeys: 3 });
      const body = op.method === 'GET' || op.method === 'DELETE' ? fc.constant(undefined) : isUpload ? fc.oneof(invalidUpload, invalidBody(op)) : invalidBody(op);
      const auth = fc.oneof({ weight: 6, arbitrary: fc.constant(a.key) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileString.map((s) => `lrl_sk_${s}`) });
      const idempotencyKey = fc.option(hostileString.filter((s) => /^[\x21-\x7e]*$/.test(s) && s.length > 0), { nil: undefined });
      await fc.assert(
        fc.asyncProperty(pathValues, query, body, auth, idempotencyKey, async (values, q, payload, key, ik) => {
          let url = op.path;
          for (const [name, value] of Object.entries(values)) url = url.replace(`{${name}}`, encodeURIComponent(value));
          const qs = new URLSearchParams(q as Record<string, string>).toString();
          const res = await inject(summary, key, { method: op.method, url: `${url}${qs ? `?${qs}` : ''}`, text: payload?.text, type: payload?.type, headers: ik ? { 'idempotency-key': ik } : {} });
          summary.invariantChecks++;
          if (res.statusCode >= 500) {
            const sent = { url: `${url}${qs ? `?${qs}` : ''}`.slice(0, 200), idempotencyKey: ik && ik.length > 40 ? `${ik.slice(0, 20)}… (${ik.length} chars)` : ik, contentType: payload?.type, body: payload?.text.slice(0, 80) };
            summary.failures.push(`${op.method} ${op.path} → ${res.statusCode} for ${JSON.stringify(sent)}`);
          }
          return res.statusCode < 500;
        }),
        { numRuns: RUNS_PER_ROUTE, endOnFailure: true, seed: SEED + index },
      ).catch((error) => summary.failures.push(`${op.method} ${op.path}: ${String(error.message ?? error).slice(0, 600)}`));
    }
    const after = await rowCounts(t.db.db);
    check(summary, JSON.stringify(after) === JSON.stringify(counts), `invalid requests wrote rows: before ${JSON.stringify(counts)}, after ${JSON.stringify(after)}`);
    check(summary, ({} as Record<string, unknown>).polluted === undefined && (Object.prototype as Record<string, unknown>).polluted === undefined, 'Object.prototype was polluted');
    summary.notes.push(`${operations.length} routes × ${RUNS_PER_ROUTE} generated requests, CHAOS_SEED=${SEED} (set it to replay this run)`);
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
  });

  it("never shows or changes one program's data to another program's key", async () => {
    const summary = newSummary('tenant isolation (every route, other program key)');
    const counts = await rowCounts(t.db.db);
    const before = (await t.call('GET', `/v1/members/${member.id}/balances/points`)).body;
    const ownBefore = await tableCounts(t.db.db, a.id);
    /** A minimal body the schema accepts, with every id field pointing at program A's ids. */
    const example = (schema: any, id: string): unknown => {
      if (!schema) return undefined;
      if (schema.anyOf) return example(schema.anyOf.find((s: any) => s.type !== 'null') ?? schema.anyOf[0], id);
      if (schema.const !== undefined) return schema.const;
      if (schema.enum) return schema.enum[0];
      switch (schema.type) {
        case 'object': return Object.fromEntries((schema.required ?? []).map((k: string) => [k, example(schema.properties?.[k], id)]));
        case 'array': return schema.minItems ? [example(schema.items, id)] : [];
        case 'integer': case 'number': return Math.max(1, schema.minimum ?? 1);
        case 'boolean': return false;
        case 'string': return schema.format === 'uuid' ? id : schema.format === 'date-time' ? new Date().toISOString() : schema.pattern ? 'points' : 'x'.repeat(Math.max(1, schema.minLength ?? 1));
        default: return null;
      }
    };
    const leaks = (text: string) => secrets.filter((s) => text.includes(s));
    for (const op of operations) {
      if (op.path.startsWith('/unsubscribe') || op.path === '/openapi.json' || op.path.startsWith('/docs')) continue;
      const uuidParams = op.params.filter((p) => p.in === 'path' && p.schema?.format === 'uuid');
      const candidates = uuidParams.length ? secretIds : [randomUUID()];
      for (const id of candidates) {
        let url = op.path;
        for (const p of op.params.filter((x) => x.in === 'path')) url = url.replace(`{${p.name}}`, p.schema?.format === 'uuid' ? id : 'points');
        const payload = op.body?.types.includes('application/json') ? JSON.stringify(example(op.body.schema, id)) : op.body ? 'customer_id\n' : undefined;
        const res = await inject(summary, b.key, { method: op.method, url, text: payload, type: op.body?.types[0], headers: { 'idempotency-key': randomUUID() } });
        summary.effectsChecked++;
        // The id the request itself named may come back in `instance` or `detail`; anything else is a leak.
        const found = leaks(res.body).filter((s) => s !== id);
        check(summary, found.length === 0, `${op.method} ${op.path} with the other program's key answered ${res.statusCode} showing ${found.join(', ')}`);
        if (uuidParams.length) check(summary, res.statusCode >= 400 && res.statusCode < 500, `${op.method} ${url}: the other program's id answered ${res.statusCode} ${res.body.slice(0, 200)}`);
        check(summary, res.statusCode < 500, `${op.method} ${url} → ${res.statusCode}`);
      }
    }
    const after = await rowCounts(t.db.db);
    const changed = Object.keys(counts).filter((k) => counts[k] !== after[k]);
    // B may create things of its own (e.g. a member by customer id); A's rows stay as they were.
    check(summary, JSON.stringify(await tableCounts(t.db.db, a.id)) === JSON.stringify(ownBefore), `program A's rows changed: ${JSON.stringify(ownBefore)} → ${JSON.stringify(await tableCounts(t.db.db, a.id))}`);
    const balance = (await t.call('GET', `/v1/members/${member.id}/balances/points`)).body;
    check(summary, JSON.stringify(balance) === JSON.stringify(before), `program A's balance changed: ${JSON.stringify(before)} → ${JSON.stringify(balance)}`);
    const aOps = await sql<{ n: string }>`select count(*) as n from operations o join members m on m.id = o.member_id where m.program_id = ${a.id} and o.program_id <> ${a.id}`.execute(t.db.db);
    check(summary, Number(aOps.rows[0]!.n) === 0, 'another program wrote operations on program A’s members');
    summary.notes.push(`tables whose counts changed under the other key (its own rows): ${changed.join(', ') || 'none'}`);
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
  });
});

