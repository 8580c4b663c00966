import { describe, expect, it } from 'vitest';
import { setupTestApp, TestClock } from '../helpers.ts';
import { startReceiver, startTestWorker, waitFor } from '../webhooks/support.ts';

describe('the worker runs the scheduled jobs', async () => {
  // 09:30 in Seoul on 1 June 2030.
  const clock = new TestClock(new Date('2030-06-01T00:30:00Z'));
  const t = await setupTestApp({ clock, program: { timeZone: 'Asia/Seoul' } });

  it('schedules the program’s daily jobs at its local time, runs them through graphile-worker, and delivers what they write', async () => {
    const receiver = await startReceiver();
    await t.call('POST', '/v1/webhook-endpoints', { body: { url: receiver.url, eventTypes: ['member.birthday', 'points.expiring_soon', 'points.expired'] } });
    await t.call('PATCH', '/v1/lifecycle-settings', { body: { birthday: { points: 10, wallet: 'points' } } });
    const birthday = await t.member({ birthday: '1999-06-01' });
    const expiring = await t.member();
    await t.earn(expiring.id, 40, { expiresAt: '2030-06-05T03:00:00Z' });
    const expired = await t.member();
    await t.earn(expired.id, 15, { expiresAt: '2030-06-01T00:31:00Z' });

    const { runner } = await startTestWorker(t, { clock: clock.now });
    await waitFor(() => receiver.acknowledged().length >= 3, 30_000, 'the birthday and the reminders');
    const find = (type: string, memberId: string) => receiver.acknowledged().find((r) => r.json.type === type && r.json.memberId === memberId)?.json;
    expect(find('member.birthday', birthday.id)).toMatchObject({ data: { date: '2030-06-01', reward: { amount: 10 } } });
    expect(find('points.expiring_soon', expiring.id)).toMatchObject({ data: { amount: 40, lastDay: '2030-06-05', daysLeft: 4, reminderDays: 7 } });
    // Points that go today are announced too (0 days left).
    expect(find('points.expiring_soon', expired.id)).toMatchObject({ data: { amount: 15, lastDay: '2030-06-01', daysLeft: 0, reminderDays: 7 } });
    const runs = await waitFor(async () => {
      const rows = await t.db.db.selectFrom('scheduled_runs').select(['job', 'local_date', 'completed_at']).where('program_id', '=', t.program.id).where('local_date', '=', '2030-06-01').orderBy('job').execute();
      return rows.length === 3 && rows.every((r) => r.completed_at) && rows;
    }, 30_000, 'the runs to complete');
    expect(runs.map((r) => r.job)).toEqual(['at_risk', 'birthdays', 'expiring_reminders']);

    // The minute job expires lots on the worker's clock (wired to runDueMaintenance).
    clock.set('2030-06-01T00:32:00Z');
    await runner.addJob('ledger_maintenance', {});
    const gone = await waitFor(() => receiver.acknowledged().find((r) => r.json.type === 'points.expired'), 30_000, 'the expiry');
    expect(gone).toMatchObject({ json: { memberId: expired.id, data: { amount: 15, lotCount: 1 } } });
    const balance = await t.call('GET', `/v1/members/${expired.id}/balances/points`);
    expect(balance.body).toMatchObject({ available: 0, lifetime: { expired: 15 } });
  });
});
