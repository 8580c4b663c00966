import { loadConfig } from '../../src/config.ts';
import { countStatements, createDatabase } from '../../src/db/database.ts';
import { buildApp } from '../../src/http/app.ts';
import type { BenchProgram } from './fixtures.ts';
import type { Workload } from './workloads.ts';

/**
 * Statements each kind of request sends to PostgreSQL, `begin` and `commit` included: on small
 * machines every statement is a round trip that costs more than the SQL in it, so this count
 * explains most of the throughput figures. Counted on an in-process app over the same database
 * (each connection's query counted), after one uncounted request of each kind
 * warms the caches a long-running server has warm. A grouped request (an earn, a new order)
 * counts as a batch of one; `overrides` of the config (no group commit) count it alone.
 */
export async function statementsPerRequest(
  url: string, program: BenchProgram, workloads: Workload[], overrides: Partial<ReturnType<typeof loadConfig>> = {},
): Promise<Record<string, number>> {
  const database = createDatabase(url, 2);
  // Counted on each connection of this pool, as it opens (before the app can use one).
  let counted = 0;
  database.pool.on('connect', (client) => countStatements(client, () => counted++));
  const app = await buildApp({
    db: database.db,
    config: loadConfig({ databaseUrl: url, logLevel: 'warn', rateLimitPerMinute: 1_000_000_000, runWorker: false, ...overrides }),
    logger: false,
  });
  const out: Record<string, number> = {};
  try {
    for (const w of workloads) {
      for (const round of [0, 1]) {
        const r = w.request(program, 0, round);
        const body = r.body === undefined ? undefined : JSON.stringify(r.body);
        counted = 0;
        const res = await app.inject({
          method: r.method as 'GET', url: r.path, payload: body,
          headers: { authorization: `Bearer ${program.key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...r.headers },
        });
        if (res.statusCode !== w.ok) throw new Error(`${w.name}: ${res.statusCode} ${res.body.slice(0, 300)}`);
        if (round === 1) out[w.name] = counted;
      }
    }
  } finally {
    await app.close();
    await database.close();
  }
  return out;
}
