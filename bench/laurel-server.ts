/**
 * Laurel's HTTP server on a given database, as a process of its own, for the benchmark and the
 * reliability suite (which measure its memory and kill it): `node --import tsx bench/laurel-server.ts`
 * with DATABASE_URL and PORT (0: any free port). Prints "LAUREL_READY <port>" once it listens.
 * No background worker and no demo data; migrations are the caller's business.
 */
import { loadConfig } from '../src/config.ts';
import { createDatabase } from '../src/db/database.ts';
import { buildApp } from '../src/http/app.ts';

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
const database = createDatabase(url, config.dbPoolSize, { prepare: config.dbPrepare });
const app = await buildApp({ db: database.db, config });
await app.listen({ host: config.host, port: config.port });
const address = app.server.address();
process.stdout.write(`LAUREL_READY ${typeof address === 'object' && address ? address.port : config.port}\n`);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void app.close().then(() => database.close()).finally(() => process.exit(0));
  });
}
