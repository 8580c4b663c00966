#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { createDatabase } from './db/database.ts';
import { migrateToLatest } from './db/migrate.ts';
import { resolveDatabase } from './db/resolve-database.ts';
import { seedDemoIfEmpty } from './demo/seed-demo.ts';
import { buildApp } from './http/app.ts';
import { exportCommand, importCommand } from './imports/import-cli.ts';
import { startWorker } from './jobs/worker.ts';
import { runDueMaintenance } from './ledger/ledger-maintenance.ts';
import { verifyLedger } from './ledger/verify-ledger.ts';
import { createApiKey, createProgram } from './programs/program-operations.ts';
import { listPrograms } from './programs/program-repository.ts';
import { processGuards } from './shared/process-guards.ts';

const HELP = `Laurel — loyalty program engine

Usage: npm run laurel -- <command> [options]   (or npm start / npm run migrate / …)

Commands:
  start                     API server (+ background worker) on the embedded or DATABASE_URL database
  worker                    background worker only (production: run beside "start" with LAUREL_WORKER=off)
  migrate                   apply database migrations
  verify-ledger [--program ID]   check every ledger invariant; exit 1 on any discrepancy
  maintenance [--program ID]     vest, expire and time out everything due now
  programs:create --name N --currency USD --time-zone Europe/Paris   prints the admin key once
  programs:list
  import:members --program ID --file members.csv [--format csv|ndjson] [--batch-key K] [--skip-invalid] [--dry-run]
                            members with opening balances (docs/operations.md); one transaction, set-based
  import:adjustments --program ID --file adjustments.csv [same options]   customer_id, amount, reason per line
  export:members --program ID [--format csv|ndjson] [--out FILE]   every member with balances (stdout without --out)
  api-keys:create --program ID [--name N]   prints the key once

Environment: DATABASE_URL, LAUREL_DATA_DIR (default ./.laurel), PORT (3000), HOST (127.0.0.1),
LAUREL_PG_PORT (54329), LAUREL_WORKER (inline|off), LOG_LEVEL, LAUREL_RATE_LIMIT_PER_MINUTE.
`;

const say = (line = '') => process.stdout.write(`${line}\n`);

async function withDatabase<T>(work: (db: ReturnType<typeof createDatabase>, url: string) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const resolved = await resolveDatabase(config, (line) => process.stderr.write(`[postgres] ${line}\n`));
  const database = createDatabase(resolved.url, config.dbPoolSize, { prepare: config.dbPrepare });
  try {
    await migrateToLatest(database.db);
    return await work(database, resolved.url);
  } finally {
    await database.close();
    await resolved.stop();
  }
}

async function start(withApi: boolean) {
  const config = loadConfig();
  const pgLog: string[] = [];
  let resolved: Awaited<ReturnType<typeof resolveDatabase>>;
  try {
    resolved = await resolveDatabase(config, (line) => pgLog.push(line));
  } catch (error) {
    process.stderr.write(`Laurel could not start its database: ${(error as Error)?.message ?? error}\n${pgLog.slice(-30).join('\n')}\n`);
    process.exit(1);
  }
  const database = createDatabase(resolved.url, config.dbPoolSize, { prepare: config.dbPrepare });
  let stopping = false;
  const resources: { close(): Promise<unknown> }[] = [];
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal} received: stopping Laurel…`);
    for (const r of resources.reverse()) await r.close().catch(() => {});
    await database.close().catch(() => {});
    await resolved.stop().catch(() => {});
    say('stopped cleanly.');
    process.exit(0);
  };
  // While stopping, connections die as the database stops with us (Ctrl-C reaches the embedded
  // server too): of no consequence, we are exiting. Otherwise only "database unavailable"
  // rejections are survived (processGuards says why).
  processGuards({ stopping: () => stopping });
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length) say(`applied migrations: ${applied.join(', ')}`);
    if (withApi) {
      const app = await buildApp({ db: database.db, config });
      resources.push({ close: () => app.close() });
      await app.listen({ host: config.host, port: config.port });
      // Seeded only once the server listens, so the one-time key is never lost to a failed start.
      const demo = await seedDemoIfEmpty(database.db);
      const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
      say('');
      say('Laurel is running.');
      say(`  API        ${base}/v1`);
      say(`  Docs       ${base}/docs   (OpenAPI document: ${base}/openapi.json)`);
      say(`  Dashboard  ${base}/dashboard   (sign in with an API key)`);
      say(`  Database   ${config.databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL in ${config.dataDir} (port ${resolved.embedded?.port})`}`);
      if (demo) {
        say('');
        say(`  Demo program "Demo Shop" created (${demo.programId}).`);
        say(`  Admin API key (shown once, stored only as a hash):`);
        say(`    ${demo.apiKey}`);
        say('');
        say(`  Try: curl -H "Authorization: Bearer ${demo.apiKey}" ${base}/v1/members`);
      } else {
        say('  (the demo program’s API key was shown on the first start; create another with: npm run laurel -- api-keys:create --program <id>)');
      }
      say('');
    }
    if (!withApi || config.runWorker) {
      const runner = await startWorker(database.db, resolved.url, (level, message) => {
        // Ctrl-C stops the embedded database with us: the worker's connections then fail as it
        // winds down (an UNLISTEN on a closed socket), which is expected and not worth a line.
        if (stopping) return;
        if (level === 'error' || level === 'warning') process.stderr.write(`[worker] ${message}\n`);
      });
      resources.push({ close: () => runner.stop() });
      if (!withApi) say('Laurel worker is running (Ctrl-C to stop).');
    }
  } catch (error) {
    process.stderr.write(`Laurel failed to start: ${(error as Error).stack ?? error}\n`);
    if (pgLog.length) process.stderr.write(`PostgreSQL log:\n${pgLog.slice(-30).join('\n')}\n`);
    await shutdown('startup failure');
    process.exit(1);
  }
}

async function main() {
  const [command = 'help', ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      program: { type: 'string' }, name: { type: 'string' }, currency: { type: 'string' }, 'time-zone': { type: 'string' },
      file: { type: 'string' }, format: { type: 'string' }, 'batch-key': { type: 'string' }, 'skip-invalid': { type: 'boolean' },
      'dry-run': { type: 'boolean' }, out: { type: 'string' },
    },
    allowPositionals: true,
  });
  switch (command) {
    case 'start':
      return start(true);
    case 'worker':
      return start(false);
    case 'migrate':
      return withDatabase(async () => say('migrations are up to date.'));
    case 'verify-ledger':
      return withDatabase(async ({ db }) => {
        const programs = values.program ? [{ id: values.program, name: values.program }] : await listPrograms(db);
        let failed = false;
        for (const program of programs) {
          const report = await verifyLedger(db, program.id);
          say(`${report.ok ? 'OK  ' : 'FAIL'} ${program.id} ${program.name}`);
          for (const check of report.checks) {
            say(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}${check.ok ? '' : `: ${check.discrepancies.length} discrepancies`}`);
            for (const d of check.discrepancies.slice(0, 10)) say(`       ${JSON.stringify(d)}`);
          }
          failed ||= !report.ok;
        }
        if (failed) process.exitCode = 1;
      });
    case 'maintenance':
      return withDatabase(async ({ db }) => say(JSON.stringify(await runDueMaintenance(db, { programId: values.program }))));
    case 'programs:create':
      return withDatabase(async ({ db }) => {
        if (!values.name || !values.currency || !values['time-zone']) throw new Error('--name, --currency and --time-zone are required');
        const { program, apiKey } = await createProgram(db, { name: values.name, currency: values.currency, timeZone: values['time-zone'] });
        say(`program ${program.id} created`);
        say(`admin API key (shown once): ${apiKey}`);
      });
    case 'import:members':
    case 'import:adjustments':
      return withDatabase(async ({ db }) => {
        const ok = await importCommand(db, command === 'import:members' ? 'members' : 'adjustments', values, say);
        if (!ok) process.exitCode = 1;
      });
    case 'export:members':
      return withDatabase(async ({ db }) => exportCommand(db, values, say));
    case 'programs:list':
      return withDatabase(async ({ db }) => {
        for (const p of await listPrograms(db)) say(`${p.id}  ${p.currency}  ${p.time_zone}  ${p.name}`);
      });
    case 'api-keys:create':
      return withDatabase(async ({ db }) => {
        if (!values.program) throw new Error('--program is required');
        const { row, secret } = await createApiKey(db, values.program, 'cli', values.name ?? 'cli');
        say(`API key ${row.id} (shown once): ${secret}`);
      });
    default:
      say(HELP);
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
