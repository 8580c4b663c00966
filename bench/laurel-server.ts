/**
 * Laurel's HTTP server on a given database, as a process of its own, for the benchmark and the
 * reliability suite (which measure its memory and kill it): `node --import tsx bench/laurel-server.ts`
 * with DATABASE_URL and PORT (0: any free port). Prints "SERVER_READY <port>" once it listens.
 * No demo data; migrations are the caller's business. No background worker unless LAUREL_WORKER=inline
 * is given explicitly (the reliability suite's worker case): the benchmark measures the API alone.
 */
import { loadConfig } from '../src/config.ts';
import { createDatabase } from '../src/db/database.ts';
import { buildApp } from '../src/http/app.ts';
import { startWorker } from '../src/jobs/worker.ts';
import { processGuards } from '../src/shared/process-guards.ts';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const config = loadConfig({
  databaseUrl: url,
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  logLevel: process.env.LOG_LEVEL ?? 'warn',
  rateLimitPerMinute: 1_000_000_000,
  runWorker: false,
});
let stopping = false;
// The same policy as `npm start`, so that the reliability suite tests what production runs.
processGuards({ stopping: () => stopping });
const database = createDatabase(url, config.dbPoolSize, { prepare: config.dbPrepare });
const app = await buildApp({ db: database.db, config });
await app.listen({ host: config.host, port: config.port });
// The READY line waits for the worker, so a worker that cannot start fails startLaurel instead of
// leaving a server without its jobs.
const runner = process.env.LAUREL_WORKER === 'inline'
  ? await startWorker(database.db, url, (level, message) => {
    if (level === 'error' || level === 'warning') process.stderr.write(`[worker] ${message}\n`);
  })
  : undefined;
const address = app.server.address();
process.stdout.write(`SERVER_READY ${typeof address === 'object' && address ? address.port : config.port}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await runner?.stop().catch(() => {});
      await app.close();
      await database.close();
    })().finally(() => process.exit(0));
  });
}
