import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { taskList } from '../../src/jobs/worker.ts';
import { workerOptionsFromEnv } from '../../src/jobs/worker-options.ts';
import { setupTestApp } from '../helpers.ts';

const DAY_MS = 86_400_000;

/**
 * Stored answers are kept 30 days (IDEMPOTENCY_RETENTION_DAYS), counted on the database's clock
 * that stamped them: a retry within the window must still replay, whatever the app server's
 * clock says.
 */
describe('idempotency key retention', async () => {
  const t = await setupTestApp();
  const cleanup = taskList(t.db.db, workerOptionsFromEnv({}, {}))['idempotency_cleanup']!;
  const helpers = { logger: { info: () => {} } } as unknown as Parameters<typeof cleanup>[1];
  afterEach(() => vi.useRealTimers());

  async function storedKeyAged(days: number) {
    const member = await t.member();
    const key = randomUUID();
    expect((await t.call('POST', `/v1/members/${member.id}/earn`, { body: { amount: 5 }, idempotencyKey: key })).status).toBe(201);
    await sql`update idempotency_keys set created_at = now() - ${days} * interval '1 day' where key = ${key}`.execute(t.db.db);
    return { member, key };
  }
  const stillStored = async (key: string) => (await t.db.db.selectFrom('idempotency_keys').select('key').where('key', '=', key).executeTakeFirst()) !== undefined;

  it('forgets keys after 30 days, and keeps younger ones replayable', async () => {
    const old = await storedKeyAged(31);
    const young = await storedKeyAged(29);
    await cleanup({}, helpers);
    expect(await stillStored(old.key)).toBe(false);
    expect(await stillStored(young.key)).toBe(true);
    const replay = await t.call('POST', `/v1/members/${young.member.id}/earn`, { body: { amount: 5 }, idempotencyKey: young.key });
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  it('counts the 30 days on the database clock when the app clock runs three days ahead', async () => {
    const young = await storedKeyAged(28);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.now() + 3 * DAY_MS));
    await cleanup({}, helpers);
    vi.useRealTimers();
    expect(await stillStored(young.key)).toBe(true);
  });
});
