import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { dispatchOutbox } from '../../src/jobs/outbox-dispatch.ts';
import { sendDueMessages } from '../../src/notifications/message-sender.ts';
import { setupTestApp } from '../helpers.ts';
import { FAST } from '../webhooks/support.ts';
import { startSmtp } from './smtp.ts';

const DAY_MS = 86_400_000;

/**
 * Due-ness of a message is judged by the database clock (claimDueMessages), so the times the
 * sender writes — a retry's next attempt, the moment it was sent — must be on that clock too:
 * an app server whose clock runs ahead would otherwise put every retry days late.
 */
describe('message times under a skewed app clock', async () => {
  const t = await setupTestApp({ program: { name: 'Skewed shop' } });
  const smtp = await startSmtp();
  await t.call('PATCH', '/v1/lifecycle-settings', {
    body: { messages: { channels: ['email'], email: { from: 'Shop <loyalty@shop.test>', smtp: { ...smtp.smtp } } } },
  });
  // One retry, a minute after a refusal: long enough that the sweep does not retry it at once.
  const options = { ...FAST, messageRetryScheduleMs: [60_000], smtpUrl: undefined, smtpFrom: undefined } as Parameters<typeof sendDueMessages>[1];
  afterEach(() => {
    vi.useRealTimers();
    smtp.setReject(() => null);
  });

  const dbNow = async () => (await sql<{ now: Date }>`select now() as now`.execute(t.db.db)).rows[0]!.now.getTime();
  const messageOf = async (memberId: string) => t.db.db.selectFrom('messages').selectAll().where('member_id', '=', memberId).executeTakeFirstOrThrow();

  it('a retry is scheduled, and a send recorded, on the database clock when the app clock is three days ahead', async () => {
    const address = `skew-${randomUUID().slice(0, 8)}@example.test`;
    const member = await t.member({ email: address });
    // No worker runs here: the welcome is queued by dispatching the outbox by hand.
    await dispatchOutbox(t.db.db, { batchSize: 500, budgetMs: 30_000 });
    smtp.setReject((to) => (to === address ? 451 : null));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.now() + 3 * DAY_MS));

    await sendDueMessages(t.db.db, options);
    const refused = await messageOf(member.id);
    expect(refused).toMatchObject({ status: 'pending', attempts: 1 });
    const lead = refused.next_attempt_at.getTime() - (await dbNow());
    // A minute after the refusal on the database's clock, not three days and a minute.
    expect(lead).toBeGreaterThan(50_000);
    expect(lead).toBeLessThan(70_000);

    smtp.setReject(() => null);
    await t.db.db.updateTable('messages').set({ next_attempt_at: sql<Date>`now()` }).where('id', '=', refused.id).execute();
    await sendDueMessages(t.db.db, options);
    const sent = await messageOf(member.id);
    expect(sent.status).toBe('sent');
    expect(Math.abs(sent.sent_at!.getTime() - (await dbNow()))).toBeLessThan(60_000);
  });
});
