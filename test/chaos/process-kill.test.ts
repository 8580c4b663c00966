import { afterAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../bench/lib/http-client.ts';
import { startLaurel, type LaurelProcess } from '../../bench/lib/laurel-process.ts';
import { createProgram } from '../../src/programs/program-operations.ts';
import { createTestDatabase } from '../helpers.ts';
import { check, Journal, newSummary, progress, publishSummary, replayAcknowledged, verifyLedger } from './harness.ts';
import { MixedLoad } from './mixed-load.ts';
import { seedWorld, tableCounts } from './world.ts';

const KILLS = Number(process.env.CHAOS_KILLS ?? 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kill -9 of the Laurel process under a mixed load', async () => {
  const db = await createTestDatabase(4);
  const { program, apiKey } = await createProgram(db.db, { name: 'Chaos: kill', currency: 'USD', timeZone: 'Europe/Paris' });
  let laurel: LaurelProcess = await startLaurel({ databaseUrl: db.url });
  const port = laurel.port;
  const client = new HttpClient(port, 16, { authorization: `Bearer ${apiKey}` });
  afterAll(async () => {
    client.close();
    await laurel.stop();
  });

  it('gives every acknowledged request its effect exactly once, and every retried one exactly once', async () => {
    const summary = newSummary('kill -9 Laurel (mixed load)');
    const world = await seedWorld(client, { members: 12, startingPoints: 400 });
    const journal = new Journal(summary);
    const load = new MixedLoad(journal, summary, { client: () => client, ...world });
    progress('seeded; mixed load starts');
    const running = load.run(8);
    for (let i = 0; i < KILLS; i++) {
      await sleep(2_000 + Math.random() * 1_500);
      await laurel.kill();
      progress(`killed Laurel (${i + 1}/${KILLS}) after ${journal.summary.requestsSent} requests`);
      await sleep(100 + Math.random() * 400);
      laurel = await startLaurel({ databaseUrl: db.url, port });
      progress('restarted');
    }
    await sleep(1_500);
    load.stop();
    await running;
    const unacknowledged = journal.open().length;
    summary.notes.push(`${KILLS} kills; ${unacknowledged} requests were unacknowledged when the load stopped; answers and failures under load: ${JSON.stringify(journal.seen.load)}`);
    check(summary, Object.keys(journal.seen.load ?? {}).every((k) => !/^5/.test(k) || k === '503'), `a 5xx other than 503 under load: ${JSON.stringify(journal.seen.load)}`);
    await journal.settle(client);
    progress('settled; checking effects');
    await load.verifyEffects(db.db, program.id, client);
    progress('replaying acknowledged requests');

    const before = await tableCounts(db.db, program.id);
    await replayAcknowledged(client, journal, summary);
    check(summary, JSON.stringify(await tableCounts(db.db, program.id)) === JSON.stringify(before), 'replaying acknowledged requests wrote something');
    await verifyLedger(client, summary, 'after kills');
    publishSummary(summary);
    expect(summary.failures).toEqual([]);
    expect(unacknowledged + summary.retriedAfterFailure).toBeGreaterThan(0);
  });
});
