/**
 * The floor of a read on this machine without Laurel: Fastify with nothing added (no logger, no
 * hooks, no plugins, no schemas) and node-postgres, answering `GET /health` with one `select 1`
 * over a pool of the given size, as Laurel's `/health` does. The benchmark runs it as a process
 * of its own with Laurel's Node flags (bench/lib/laurel-process.ts, startBareServer), beside
 * Laurel on the same database: Laurel's `/health` against this one is what Laurel's own code
 * costs a request — its logger, request ids, input guard, Kysely and pool wrapper — and this one's
 * throughput is what HTTP and a statement allow here, which is the honest reference for whether
 * the read aim is within this machine's reach. It imports nothing of Laurel's (a test checks).
 *
 * DATABASE_URL, PORT (0: any free port), LAUREL_DB_POOL_SIZE (10). Prints "SERVER_READY <port>".
 */
import Fastify from 'fastify';
import pg from 'pg';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.LAUREL_DB_POOL_SIZE ?? 10) });
const app = Fastify({ logger: false });
app.get('/health', async (_request, reply) => {
  try {
    await pool.query('select 1 as one');
    return { status: 'ok' };
  } catch {
    return reply.code(503).send({ status: 'unavailable' });
  }
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
const address = app.server.address();
process.stdout.write(`SERVER_READY ${typeof address === 'object' && address ? address.port : process.env.PORT}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void app.close().then(() => pool.end()).finally(() => process.exit(0));
  });
}
