import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareServer, type LaurelProcess } from '../../bench/lib/laurel-process.ts';
import { createTestDatabase } from '../helpers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// The benchmark's reference for what a request costs without Laurel: it must be a real request
// to the database, and it must hold none of Laurel's code, or the ratio against it says nothing.
describe('the bare server', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: LaurelProcess;
  beforeAll(async () => {
    database = await createTestDatabase(2);
    server = await startBareServer({ databaseUrl: database.url, env: { LAUREL_DB_POOL_SIZE: '2' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers GET /health with a statement on the database', async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });

    // The same server on a database that does not exist: the statement fails, so the answer does.
    const missing = new URL(database.url);
    missing.pathname = '/laurel_no_such_database';
    const orphan = await startBareServer({ databaseUrl: missing.toString(), env: { LAUREL_DB_POOL_SIZE: '1' } });
    try {
      expect((await fetch(`http://127.0.0.1:${orphan.port}/health`)).status).toBe(503);
    } finally {
      await orphan.stop();
    }
    expect(orphan.child.exitCode).toBe(0);
  });

  it('imports nothing of Laurel’s', () => {
    const source = readFileSync(path.join(ROOT, 'bench/bare-server.ts'), 'utf8');
    // Static imports, bare imports and dynamic import() or require() calls alike.
    const modules = [...source.matchAll(/(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(modules).toEqual(['fastify', 'pg']);
    expect(source).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
  });
});
