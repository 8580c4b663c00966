import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!!process.env.DATABASE_URL)('embedded PostgreSQL lifecycle', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reuses its data across restarts and recovers after a crash of its owner', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'laurel-embedded-'));
    await chmod(dir, 0o755);
    const port = await freePort();

    // 1. First start initialises the cluster; data written survives a clean stop.
    const first = await startEmbeddedPostgres({ dataDir: dir, port });
    await query(first.url(), 'create table survives (n int); insert into survives values (42)');
    await first.stop();

    // 2. A process owning the server dies by SIGKILL: the server is left running (orphaned).
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/db/embedded-child.ts'), dir, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const pidFile = path.join(dir, 'pg', 'postmaster.pid');
    expect(existsSync(pidFile)).toBe(true);

    // 3. The next start stops the orphan and starts cleanly on the same data.
    const second = await startEmbeddedPostgres({ dataDir: dir, port });
    expect(await query(second.url(), 'select n from survives')).toEqual([{ n: 42 }]);
    await second.stop();

    // 4. A stale pid file naming a dead process is cleared too.
    const stale = (await readFile(path.join(dir, 'pg', 'PG_VERSION'), 'utf8')).trim();
    expect(Number(stale)).toBeGreaterThanOrEqual(15);
    await writeFile(pidFile, `999999\n${path.join(dir, 'pg')}\n0\n${port}\n`);
    const third = await startEmbeddedPostgres({ dataDir: dir, port });
    expect(await query(third.url(), 'select count(*)::int as c from survives')).toEqual([{ c: 1 }]);
    await third.stop();
  }, 120_000);
});
