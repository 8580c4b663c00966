/**
 * Tier review benchmark: `npx tsx bench/tiers-review.ts [members] [batchSize]` (default 1,000,000).
 * Uses DATABASE_URL if set (a throwaway database: it leaves its data), else a private embedded
 * PostgreSQL cluster in a temporary folder, removed afterwards.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase } from '../src/db/database.ts';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { benchTierReview } from '../src/tiers/tier-bench.ts';

const members = Number(process.argv[2] ?? 1_000_000);
const batchSize = process.argv[3] ? Number(process.argv[3]) : undefined;
let url = process.env.DATABASE_URL;
let stop = async () => {};
if (!url) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'laurel-bench-tiers-'));
  await chmod(dataDir, 0o755);
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=512MB'] });
  url = server.url('postgres');
  stop = async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
const database = createDatabase(url, 4);
try {
  await migrateToLatest(database.db);
  const result = await benchTierReview(database.db, members, { batchSize, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`tier review: ${result.review.members} members in ${result.reviewSeconds.toFixed(1)} s (${result.membersPerSecond}/s; aim: 1M in < 60 s)\n`);
} finally {
  await database.close();
  await stop();
}
