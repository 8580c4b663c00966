import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { startReceiver, startTestWorker, waitFor } from './support.ts';

describe('an endpoint that keeps failing', async () => {
  const t = await setupTestApp();
  await startTestWorker(t, { webhookRetryScheduleMs: [50, 50] });

  it('is given up on after the retry schedule, disabled with a reason, reported, and resumes in order once enabled', async () => {
    let healthy = false;
    const failing = await startReceiver(() => (healthy ? 200 : 500));
    const ops = await startReceiver();
    const bad = (await t.call('POST', '/v1/webhook-endpoints', { body: { url: failing.url, eventTypes: ['member.*'] } })).body;
    const monitor = (await t.call('POST', '/v1/webhook-endpoints', { body: { url: ops.url, eventTypes: ['webhook_endpoint.disabled'] } })).body;

    const member = await t.member();
    const disabled = await waitFor(async () => {
      const res = await t.call('GET', `/v1/webhook-endpoints/${bad.id}`);
      return res.body.status === 'disabled' && res.body;
    }, 20_000, 'the endpoint to be disabled');
    expect(disabled.disabledReason).toMatch(/failed 3 times since .* with no successful delivery in between; last error: HTTP 500/);
    expect(disabled.health.consecutiveFailures).toBe(3);
    expect(disabled.health.failingSince).not.toBeNull();
    expect(failing.received).toHaveLength(3);

    const [given] = (await t.call('GET', `/v1/webhook-deliveries?endpointId=${bad.id}`)).body.data;
    expect(given).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 500 });
    expect(given.attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 500]);

    // Reported: an event other endpoints can subscribe to, delivered to the monitor.
    await waitFor(() => ops.acknowledged().length >= 1, 20_000, 'the disabled event');
    expect(ops.received[0]!.json).toMatchObject({ type: 'webhook_endpoint.disabled', memberId: null, data: { endpointId: bad.id, url: failing.url } });
    expect(monitor.status).toBe('enabled');

    // While disabled, new events wait; nothing is sent.
    await t.call('PATCH', `/v1/members/${member.id}`, { body: { firstName: 'One' } });
    await t.call('PATCH', `/v1/members/${member.id}`, { body: { firstName: 'Two' } });
    await waitFor(async () => (await t.call('GET', `/v1/webhook-endpoints/${bad.id}`)).body.health.pendingDeliveries === 2);
    await new Promise((r) => setTimeout(r, 500));
    expect(failing.received).toHaveLength(3);
    const waiting = (await t.call('GET', `/v1/webhook-deliveries?endpointId=${bad.id}&status=pending`)).body.data;
    expect(waiting.map((d: { attempts: number; nextAttemptAt: string | null }) => [d.attempts, d.nextAttemptAt])).toEqual([[0, null], [0, null]]);

    healthy = true;
    const enabled = await t.call('PATCH', `/v1/webhook-endpoints/${bad.id}`, { body: { status: 'enabled' } });
    expect(enabled.body).toMatchObject({ status: 'enabled', health: { consecutiveFailures: 0, failingSince: null } });
    await waitFor(() => failing.acknowledged().length >= 2, 20_000, 'the waiting deliveries');
    expect(failing.acknowledged().map((r) => r.json.data.member.firstName)).toEqual(['One', 'Two']);

    // The given-up one comes back with a recovery.
    const recovered = await t.call('POST', `/v1/webhook-endpoints/${bad.id}/recover`, { body: { since: new Date(Date.now() - 3_600_000).toISOString() } });
    expect(recovered.body).toEqual({ requeued: 1 });
    await waitFor(() => failing.acknowledged().length >= 3, 20_000, 'the recovered delivery');
    expect(failing.acknowledged()[2]!.json.type).toBe('member.created');
    const after = await waitFor(async () => {
      const d = (await t.call('GET', `/v1/webhook-deliveries/${given.id}`)).body;
      return d.status === 'succeeded' && d;
    });
    expect(after.attempts).toBe(4);
  });

  it('is not disabled when it succeeded in between (a single poisoned event is just given up)', async () => {
    // The poisoned event fails slowly, so that the other member's delivery succeeds meanwhile.
    const receiver = await startReceiver((r) => (r.json?.data?.member?.firstName === 'Poison' ? { status: 500, delayMs: 400 } : 200));
    const ep = (await t.call('POST', '/v1/webhook-endpoints', { body: { url: receiver.url, eventTypes: ['member.created', 'points.earned'] } })).body;
    const a = await t.member({ firstName: 'Poison' });
    await t.earn(a.id, 10);
    const b = await t.member({ firstName: 'Fine' });
    await waitFor(async () => {
      const failed = (await t.call('GET', `/v1/webhook-deliveries?endpointId=${ep.id}&status=failed`)).body.data;
      return failed.length === 1;
    }, 20_000, 'the poisoned delivery to be given up');
    // After it was given up, the member's next event goes out.
    await waitFor(() => receiver.acknowledged().length === 2, 20_000, 'the other deliveries');
    expect(receiver.acknowledged().map((r) => [r.json.type, r.json.memberId])).toEqual(expect.arrayContaining([['member.created', b.id], ['points.earned', a.id]]));
    const endpoint = (await t.call('GET', `/v1/webhook-endpoints/${ep.id}`)).body;
    expect(endpoint.status).toBe('enabled');
  });
});
