import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CsvParser } from '../../src/imports/csv.ts';
import { exportMembers } from '../../src/imports/member-export.ts';
import { setupTestApp, type TestContext, type TestProgram } from '../helpers.ts';

const run = promisify(execFile);
const WALLETS = [
  { code: 'points', name: 'Points', expiry: { kind: 'days_after_earn' as const, count: 365 } },
  { code: 'cashback', name: 'Cashback', unit: 'currency' as const },
];

function send(t: TestContext, url: string, body: string, options: { type?: string; key?: string; query?: string } = {}) {
  return t.call('POST', `${url}${options.query ? `?${options.query}` : ''}`, { body, key: options.key, idempotencyKey: false, headers: { 'content-type': options.type ?? 'text/csv' } });
}

async function verified(t: TestContext, program: TestProgram) {
  const res = await t.call('GET', '/v1/ledger/verify', { key: program.key });
  expect(res.body.ok, JSON.stringify(res.body.checks?.filter((c: { ok: boolean }) => !c.ok))).toBe(true);
}

async function available(t: TestContext, program: TestProgram, customerId: string, wallet = 'points') {
  const m = await t.call('GET', `/v1/members/lookup?customerId=${customerId}`, { key: program.key });
  const b = await t.call('GET', `/v1/members/${m.body.id}/balances/${wallet}`, { key: program.key });
  return b.body.available as number;
}

describe('export and bulk adjustments', async () => {
  const t = await setupTestApp({ program: { wallets: WALLETS } });
  const source = t.program;
  const seed = [
    'customer_id,email,first_name,tags,marketing_consent,balance,balance:cashback',
    'e-1,e1@example.com,"Lee, Min-jun",vip|beta,true,120,15',
    'e-2,e2@example.com,"Quote ""Q""",,false,80,',
    'e-3,,민준,,,,',
  ].join('\n');

  it('exports every member with balances as CSV and NDJSON, streamed', async () => {
    expect((await send(t, '/v1/imports/members', seed)).status).toBe(201);
    const m = await t.call('GET', '/v1/members/lookup?customerId=e-1');
    await t.call('POST', `/v1/members/${m.body.id}/spend`, { body: { amount: 20 } });

    const csv = await t.call('GET', '/v1/exports/members?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const parser = new CsvParser();
    const records = [...parser.push(csv.body), ...parser.end()].map((r) => r.fields!);
    const header = records[0]!;
    // Wallets in creation order (these two were created together: then by code).
    expect(header).toEqual([
      'member_id', 'customer_id', 'email', 'phone', 'first_name', 'last_name', 'birthday', 'locale', 'marketing_consent', 'tags', 'status', 'enrolled_at',
      'balance:cashback', 'pending:cashback', 'reserved:cashback', 'earned:cashback', 'balance:points', 'pending:points', 'reserved:points', 'earned:points',
    ]);
    const byCustomer = new Map(records.slice(1).map((r) => [r[1], Object.fromEntries(header.map((h, i) => [h, r[i]]))]));
    expect(byCustomer.get('e-1')).toMatchObject({ first_name: 'Lee, Min-jun', tags: 'vip|beta', marketing_consent: 'true', 'balance:points': '100', 'earned:points': '120', 'balance:cashback': '15' });
    expect(byCustomer.get('e-2')).toMatchObject({ first_name: 'Quote "Q"', 'balance:cashback': '0' });
    expect(byCustomer.get('e-3')).toMatchObject({ first_name: '민준', 'balance:points': '0' });

    const ndjson = await t.call('GET', '/v1/exports/members?format=ndjson');
    expect(ndjson.headers['content-type']).toContain('application/x-ndjson');
    const lines = (ndjson.body as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.customerId === 'e-1')).toMatchObject({
      tags: ['vip', 'beta'], status: 'active',
      balances: [{ wallet: 'cashback', amount: 15, pending: 0, reserved: 0, lifetimeEarned: 15 }, { wallet: 'points', amount: 100, pending: 0, reserved: 0, lifetimeEarned: 120 }],
    });
  });


  it('gives the same export page by page, whatever the page size, and releases its snapshot when the reader stops early', async () => {
    const collect = async (format: 'csv' | 'ndjson', pageSize: number) => {
      let text = '';
      for await (const chunk of exportMembers(t.db.db, { programId: source.id, format, pageSize })) text += chunk;
      return text;
    };
    for (const format of ['csv', 'ndjson'] as const) {
      const whole = await collect(format, 10_000);
      expect(whole.split('\n').filter(Boolean).length).toBe(format === 'csv' ? 4 : 3);
      for (const pageSize of [1, 2, 3]) expect(await collect(format, pageSize)).toBe(whole);
    }
    for await (const chunk of exportMembers(t.db.db, { programId: source.id, format: 'csv', pageSize: 1 })) {
      expect(chunk).toContain('member_id');
      break;
    }
    const { rows } = await t.db.pool.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'");
    expect(rows[0].n).toBe(0);
  });
  it('imports its own export into another program with the same members and balances', async () => {
    for (const format of ['csv', 'ndjson'] as const) {
      const exported = await t.call('GET', `/v1/exports/members?format=${format}`, { key: source.key });
      const target = await t.newProgram({ wallets: WALLETS });
      const res = await send(t, '/v1/imports/members', exported.body, { key: target.key, type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.members.created).toBe(3);
      for (const [customer, wallet, amount] of [['e-1', 'points', 100], ['e-1', 'cashback', 15], ['e-2', 'points', 80], ['e-3', 'points', 0]] as const) {
        expect(await available(t, target, customer, wallet)).toBe(amount);
      }
      const member = await t.call('GET', '/v1/members/lookup?customerId=e-1', { key: target.key });
      expect(member.body).toMatchObject({ firstName: 'Lee, Min-jun', tags: ['vip', 'beta'], marketingConsent: true, email: 'e1@example.com' });
      await verified(t, target);
    }
  });

  it('applies bulk adjustments as audited ledger adjustments, once per batch key', async () => {
    const file = 'customer_id,amount,reason,wallet\ne-1,25,Goodwill for late delivery,\ne-2,-30,Duplicate account clean-up,\ne-1,-5,Cashback correction,cashback\n';
    const res = await send(t, '/v1/imports/adjustments', file);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: 'completed', rows: { total: 3, valid: 3 }, adjustments: { applied: 3, alreadyApplied: 0, pointsAdded: 25, pointsRemoved: 35 } });
    expect(await available(t, source, 'e-1')).toBe(125);
    expect(await available(t, source, 'e-2')).toBe(50);
    expect(await available(t, source, 'e-1', 'cashback')).toBe(10);

    const audit = await t.db.db.selectFrom('audit_events').selectAll().where('program_id', '=', source.id).where('action', 'in', ['points.adjusted', 'adjustments.imported']).execute();
    expect(audit.filter((a) => a.action === 'points.adjusted').map((a) => a.details.reason).sort()).toEqual(['Cashback correction', 'Duplicate account clean-up', 'Goodwill for late delivery']);
    expect(audit.filter((a) => a.action === 'adjustments.imported')).toHaveLength(1);
    const ops = await t.db.db.selectFrom('operations').selectAll().where('program_id', '=', source.id).where('kind', '=', 'adjust').execute();
    expect(ops.every((o) => o.reference_type === 'adjustment_import' && o.actor.startsWith('api_key:'))).toBe(true);

    const replay = await send(t, '/v1/imports/adjustments', file);
    expect(replay.status).toBe(200);
    expect(replay.body.replayed).toBe(true);
    const sameKey = await send(t, '/v1/imports/adjustments', `${file}e-3,7,Welcome back gift,\n`, { query: `batchKey=${res.body.batchKey}` });
    expect(sameKey.body.adjustments).toMatchObject({ applied: 1, alreadyApplied: 3 });
    expect(await available(t, source, 'e-1')).toBe(125);
    expect(await available(t, source, 'e-3')).toBe(7);
    await verified(t, source);
  });

  it('rejects the whole adjustment file when a row fails, with its line, unless told to skip', async () => {
    const before = await available(t, source, 'e-2');
    const file = 'customer_id,amount,reason\ne-2,10,Compensation ok\ne-2,-999,Too much\nnobody,5,Unknown customer\ne-3,0,Zero\n';
    const res = await send(t, '/v1/imports/adjustments', file);
    expect(res.status).toBe(422);
    expect(res.body.report.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([[3, 'duplicate_row'], [4, 'member_not_found'], [5, 'validation_failed']]);
    expect(await available(t, source, 'e-2')).toBe(before);

    const insufficient = await send(t, '/v1/imports/adjustments', 'customer_id,amount,reason\ne-2,5,Compensation ok\ne-3,-999,Too much\n');
    expect(insufficient.status).toBe(422);
    expect(insufficient.body.report.errors).toEqual([expect.objectContaining({ line: 3, code: 'insufficient_points' })]);
    expect(await available(t, source, 'e-2')).toBe(before);

    const skipped = await send(t, '/v1/imports/adjustments', 'customer_id,amount,reason\ne-2,5,Compensation ok\ne-3,-999,Too much\n', { query: 'onInvalid=skip' });
    expect(skipped.status).toBe(201);
    expect(skipped.body).toMatchObject({ adjustments: { applied: 1 }, errorCount: 1 });
    expect(await available(t, source, 'e-2')).toBe(before + 5);
    await verified(t, source);
  });

  it('runs import and export from the command line', async () => {
    const target = await t.newProgram({ wallets: WALLETS });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'laurel-cli-'));
    const members = path.join(dir, 'members.csv');
    await writeFile(members, 'customer_id,email,balance\ncli-1,cli1@example.com,40\ncli-2,,60\n');
    const env = { ...process.env, DATABASE_URL: t.db.url, LOG_LEVEL: 'error' };
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env, cwd: process.cwd() });

    const imported = await cli('import:members', '--program', target.id, '--file', members).catch((e) => {
      throw new Error(`${e.message}\n${e.stdout}\n${e.stderr}`);
    });
    expect(imported.stdout).toContain('COMPLETED');
    expect(imported.stdout).toMatch(/2 created/);
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'customer_id,balance\ncli-3,ten\n');
    const failed = await cli('import:members', '--program', target.id, '--file', bad).then(() => null, (e: { code: number; stdout: string }) => e);
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toContain('line 2 (cli-3) balance: validation_failed');

    const out = path.join(dir, 'export.csv');
    await cli('export:members', '--program', target.id, '--out', out);
    const text = await readFile(out, 'utf8');
    expect(text).toContain('cli-1,cli1@example.com');
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(3);
    expect(await available(t, target, 'cli-1')).toBe(40);
    await verified(t, target);
  }, 180_000);
});
