import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { startReceiver, startTestWorker, waitFor } from './support.ts';

describe('per-member order under retries', async () => {
  const t = await setupTestApp();
  await startTestWorker(t, { webhookRetryScheduleMs: [1_500, 1_500] });

  it('holds a member’s later deliveries until the retry of an earlier one, without holding other members back', async () => {
    let failFirst = true;
    const receiver = await startReceiver((r) => (failFirst && r.json?.data?.amount === 1 ? 500 : 200));
    const ep = (await t.call('POST', '/v1/webhook-endpoints', { body: { url: receiver.url, eventTypes: ['points.earned'] } })).body;
    const a = await t.member();
    const b = await t.member();
    await t.earn(a.id, 1);
    await waitFor(() => receiver.received.length >= 1, 20_000, 'the first attempt');
    await t.earn(a.id, 2);
    await t.earn(b.id, 3);
    const deliveries = async () => (await t.call('GET', `/v1/webhook-deliveries?endpointId=${ep.id}`)).body.data as any[];
    // The other member's event goes out at once…
    await waitFor(async () => (await deliveries()).some((d) => d.memberId === b.id && d.status === 'succeeded'), 20_000, 'the other member');
    // …while this member's second event waits for the retry of the first.
    const all = await deliveries();
    const retry = all.find((d) => d.memberId === a.id && d.attempts === 1)!;
    const held = all.find((d) => d.memberId === a.id && d.attempts === 0)!;
    expect(retry.status).toBe('pending');
    expect(held.status).toBe('pending');
    expect(new Date(held.nextAttemptAt).getTime()).toBeGreaterThanOrEqual(new Date(retry.nextAttemptAt).getTime());
    expect(receiver.received.filter((r) => r.json.data.amount === 2)).toHaveLength(0);

    failFirst = false;
    await waitFor(() => receiver.acknowledged().length >= 3, 20_000, 'the retried and the held delivery');
    expect(receiver.acknowledged().filter((r) => r.json.memberId === a.id).map((r) => r.json.data.amount)).toEqual([1, 2]);
  });
});
