import { describe, expect, it } from 'vitest';
import type { JobHelpers } from 'graphile-worker';
import { inTransaction } from '../../src/idempotency/run-idempotent.ts';
import { earn } from '../../src/ledger/ledger-operations.ts';
import { dispatchOutbox } from '../../src/jobs/outbox-dispatch.ts';
import { rewardTasks } from '../../src/rewards/reward-jobs.ts';
import { unregisterThresholdNotesHook } from '../../src/rewards/reward-hooks.ts';
import { issueThresholdNotes } from '../../src/rewards/threshold-notes.ts';
import { setupTestApp } from '../helpers.ts';
import { available, createReward, expectLedgerOk, memberWith } from './reward-fixtures.ts';

describe('automatic gift notes at balance thresholds', async () => {
  const t = await setupTestApp();
  const note = await createReward(t, {
    kind: 'gift_note', name: '$20 note', costPoints: 2000, autoIssue: true, benefit: { amountOffMinor: 2000 },
    voucher: { validityDays: 60, codeFormat: { prefix: 'NOTE' } },
  });
  const notesOf = async (memberId: string) => (await t.call('GET', `/v1/members/${memberId}/vouchers`)).body.data.filter((v: { reward: { id: string } }) => v.reward.id === note.id);

  it('2,000 points become a $20 note; 4,500 become two, leaving 500; a second call issues nothing', async () => {
    const m = await memberWith(t, 4500);
    const res = await t.call('POST', `/v1/members/${m.id}/threshold-notes`);
    expect(res.status).toBe(200);
    expect(res.body.issued).toHaveLength(2);
    expect(res.body.issued[0]).toMatchObject({ actor: 'system', points: 2000, voucher: { kind: 'gift_note', status: 'issued' } });
    expect(res.body.issued[0].voucher.code).toMatch(/^NOTE-/);
    expect(await available(t, m.id)).toBe(500);
    expect((await t.call('POST', `/v1/members/${m.id}/threshold-notes`)).body.issued).toEqual([]);
    expect(await notesOf(m.id)).toHaveLength(2);
    const below = await memberWith(t, 1999);
    expect((await t.call('POST', `/v1/members/${below.id}/threshold-notes`)).body.issued).toEqual([]);
    expect(await available(t, below.id)).toBe(1999);
    const events = await t.db.db.selectFrom('events').select('payload').where('member_id', '=', m.id).where('type', '=', 'reward.redeemed').execute();
    expect(events.map((e) => e.payload.automatic)).toEqual([true, true]);
  });

  it('in the same transaction as the earn that crosses the threshold', async () => {
    const m = await memberWith(t, 1500);
    const issued = await inTransaction(t.db.db, async (trx) => {
      const program = await trx.selectFrom('programs').select(['id', 'time_zone', 'reversal_policy']).where('id', '=', t.program.id).executeTakeFirstOrThrow();
      const ctx = { trx, program, now: new Date(), actor: 'api_key:test' };
      await earn(ctx, { memberId: m.id, wallet: 'points', amount: 600, pendingUntil: null });
      return issueThresholdNotes(ctx, m.id);
    });
    expect(issued).toHaveLength(1);
    expect(await available(t, m.id)).toBe(100);
  });

  it('the scheduled sweep and the per-member job task find members whatever way the points came', async () => {
    const a = await memberWith(t, 2100);
    const b = await memberWith(t, 6000);
    await t.call('POST', `/v1/members/${b.id}/adjustments`, { body: { amount: -1000, reason: 'correction' } });
    const sweep = await t.call('POST', '/v1/rewards/maintenance');
    expect(sweep.body).toMatchObject({ members: 2, notesIssued: 3 });
    expect(await available(t, a.id)).toBe(100);
    expect(await available(t, b.id)).toBe(1000);
    expect((await t.call('POST', '/v1/rewards/maintenance')).body.notesIssued).toBe(0);

    const c = await memberWith(t, 2000);
    const helpers = { logger: { info() {} } } as unknown as JobHelpers;
    await rewardTasks(t.db.db).rewards_threshold_notes!({ programId: t.program.id, memberId: c.id }, helpers);
    expect(await available(t, c.id)).toBe(0);
    await expectLedgerOk(t);
  });

  it('the outbox hook issues the note once the earn is dispatched', async () => {
    await dispatchOutbox(t.db.db, { batchSize: 500, budgetMs: 30_000 });
    const m = await memberWith(t, 1900);
    await t.earn(m.id, 150);
    expect(await available(t, m.id)).toBe(2050);
    await dispatchOutbox(t.db.db, { batchSize: 500, budgetMs: 30_000 });
    expect(await available(t, m.id)).toBe(50);
    expect(await notesOf(m.id)).toHaveLength(1);
    unregisterThresholdNotesHook();
  });

  it('a note that cannot be issued now (stock) is skipped and changes nothing', async () => {
    const program = await t.newProgram();
    const limited = await createReward(t, { kind: 'gift_note', costPoints: 1000, autoIssue: true, stock: 1, benefit: { amountOffMinor: 1000 } }, program);
    const m = await memberWith(t, 3500, program);
    const res = await t.call('POST', `/v1/members/${m.id}/threshold-notes`, { key: program.key });
    expect(res.body.issued).toHaveLength(1);
    expect(await available(t, m.id, 'points', program)).toBe(2500);
    const reward = await t.call('GET', `/v1/rewards/${limited.id}`, { key: program.key });
    expect(reward.body.stock).toEqual({ total: 1, remaining: 0, issued: 1 });
    await t.call('PATCH', `/v1/rewards/${limited.id}`, { body: { stock: 3 }, key: program.key });
    expect((await t.call('POST', `/v1/members/${m.id}/threshold-notes`, { key: program.key })).body.issued).toHaveLength(2);
    expect(await available(t, m.id, 'points', program)).toBe(500);
    await expectLedgerOk(t, program);
  });
});
