import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/database.ts';
import { buildApp } from '../../src/http/app.ts';
import type { BenchProgram } from './fixtures.ts';
import type { Workload } from './workloads.ts';

/**
 * Statements each kind of request sends to PostgreSQL, `begin` and `commit` included: on small
 * machines every statement is a round trip that costs more than the SQL in it, so this count
 * explains most of the throughput figures. Counted on an in-process app over the same database
 * (pg.Client#query wrapped while one request runs), after one uncounted request of each kind
 * warms the caches a long-running server has warm.
 */
export async function statementsPerRequest(url: string, program: BenchProgram, workloads: Workload[]): Promise<Record<string, number>> {
  const database = createDatabase(url, 2);
  const app = await buildApp({
    db: database.db,
    config: loadConfig({ databaseUrl: url, logLevel: 'warn', rateLimitPerMinute: 1_000_000_000, runWorker: false }),
    logger: false,
  });
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  let counted = 0;
  proto.query = function (this: unknown, ...args: unknown[]) {
    counted++;
    return original.apply(this, args);
  };
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
    proto.query = original;
    await app.close();
    await database.close();
  }
  return out;
}
