import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../bench/lib/http-client.ts';
import { startLaurel, type LaurelProcess } from '../../bench/lib/laurel-process.ts';
import { createProgram } from '../../src/programs/program-operations.ts';
import { crashableCluster } from './crashable-cluster.ts';
import { check, Journal, newSummary, progress, publishSummary, replayAcknowledged, verifyLedger } from './harness.ts';
import { MixedLoad } from './mixed-load.ts';
import { seedWorld, tableCounts } from './world.ts';

const CRASHES = Number(process.env.CHAOS_PG_CRASHES ?? 2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL stopped immediately under load', async () => {
  const cluster = await crashableCluster('laurel-chaos-pg-');
  const { url, database } = cluster;
  const { program, apiKey } = await createProgram(database.db, { name: 'Chaos: PostgreSQL', currency: 'USD', timeZone: 'Asia/Seoul' });
  const laurel: LaurelProcess = await startLaurel({ databaseUrl: url, env: { LAUREL_DB_POOL_SIZE: '8' } });
  const client = new HttpClient(laurel.port, 16, { authorization: `Bearer ${apiKey}` });
  afterAll(async () => {
    client.close();
    await laurel.stop();
    await cluster.remove();
  });

  it('answers 503 during the outage, recovers its connections by itself, and loses or doubles nothing', async () => {
    const summary = newSummary('PostgreSQL immediate stop (mixed load)');
    const world = await seedWorld(client, { members: 10, startingPoints: 400 });
    const journal = new Journal(summary);
    const load = new MixedLoad(journal, summary, { client: () => client, ...world });
    const running = load.run(6);
    const recoveries: number[] = [];
    for (let i = 0; i < CRASHES; i++) {
      await sleep(3_000);
      journal.phase = 'outage';
      await cluster.stopImmediately();
      progress(`PostgreSQL stopped immediately (${i + 1}/${CRASHES})`);
      await sleep(3_000);
      journal.phase = 'recovery';
      const restartedAt = Date.now();
      await cluster.restart();
      progress('PostgreSQL restarted');
      // Recovered when Laurel answers a read again, with the same process and pool.
      for (;;) {
        const res = await client.request({ method: 'GET', path: '/v1/ledger/verify', timeoutMs: 30_000 }).catch(() => undefined);
        if (res?.status === 200) break;
        if (Date.now() - restartedAt > 60_000) throw new Error('Laurel did not recover within 60 s of the restart');
        await sleep(200);
      }
      recoveries.push(Date.now() - restartedAt);
      journal.phase = 'load';
    }
    await sleep(2_000);
    load.stop();
    await running;
    const outage = journal.seen.outage ?? {};
    summary.notes.push(`${CRASHES} immediate stops; answers during the outages: ${JSON.stringify(outage)}; recovered ${recoveries.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} after each restart`);
    // An outage's failures are logged as warnings (answered 503); an error-level line is a 500.
    const internal = [...new Set(laurel.output().split('\n').filter((l) => l.includes('request failed')).map((l) => {
      try {
        const { level, err: e } = JSON.parse(l) as { level?: number; err?: { type?: string; code?: string; message?: string } };
        return (level ?? 0) >= 50 ? `${e?.type}: ${e?.code ?? ''} ${String(e?.message).slice(0, 160)}` : '';
      } catch {
        return '';
      }
    }))].filter(Boolean);
    check(summary, internal.length === 0, `errors Laurel logged as internal (500s): ${internal.join(' | ')}`);
    check(summary, (outage['503'] ?? 0) > 0, `no 503 answers during the outages: ${JSON.stringify(outage)}`);
    for (const phase of ['outage', 'recovery', 'load']) {
      const seen = journal.seen[phase] ?? {};
      check(summary, Object.keys(seen).every((k) => !/^5/.test(k) || k === '503'), `${phase}: a 5xx other than 503: ${JSON.stringify(seen)}`);
    }
    await journal.settle(client);
    progress('settled; checking effects');
    await load.verifyEffects(database.db, program.id, client);
    const before = await tableCounts(database.db, program.id);
    await replayAcknowledged(client, journal, summary);
    check(summary, JSON.stringify(await tableCounts(database.db, program.id)) === JSON.stringify(before), 'replaying acknowledged requests wrote something');
    await verifyLedger(client, summary, 'after PostgreSQL crashes');
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
  });
});
