import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { startReceiver, startTestWorker, verifySignature, waitFor } from './support.ts';

describe('webhook delivery', async () => {
  const t = await setupTestApp();
  await startTestWorker(t);

  async function endpoint(url: string, eventTypes: string[], key = t.program.key) {
    const res = await t.call('POST', '/v1/webhook-endpoints', { body: { url, eventTypes }, key });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  }

  it('delivers signed events that verify per the Standard Webhooks specification, in order', async () => {
    const receiver = await startReceiver();
    const spentOnly = await startReceiver();
    const other = await t.newProgram();
    const otherReceiver = await startReceiver();
    const ep = await endpoint(receiver.url, ['member.created', 'points.*']);
    await endpoint(spentOnly.url, ['points.spent']);
    await endpoint(otherReceiver.url, ['*'], other.key);

    const member = await t.member({ firstName: 'Ana' });
    await t.earn(member.id, 100);
    expect((await t.call('POST', `/v1/members/${member.id}/spend`, { body: { amount: 30 } })).status).toBe(201);

    await waitFor(() => receiver.acknowledged().length >= 3, 20_000, '3 deliveries');
    await waitFor(() => spentOnly.acknowledged().length >= 1, 20_000, 'the spend delivery');
    const got = receiver.received;
    expect(got.map((r) => r.json.type)).toEqual(['member.created', 'points.earned', 'points.spent']);
    for (const r of got) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.id).toBe(r.json.id);
      expect(r.id).toMatch(/^evt_\d+$/);
      expect(Math.abs(Number(r.timestamp) - Date.now() / 1000)).toBeLessThan(300);
      expect(verifySignature(ep.secret, r)).toBe(true);
      expect(verifySignature(ep.secret, { ...r, body: r.body.replace('"amount":100', '"amount":101') })).toBe(r.json.type !== 'points.earned');
      expect(r.json).toMatchObject({ programId: t.program.id, memberId: member.id });
      expect(Object.keys(r.json).sort()).toEqual(['data', 'id', 'memberId', 'occurredAt', 'programId', 'type']);
    }
    expect(got[1]!.json.data).toMatchObject({ memberId: member.id, amount: 100, wallet: 'points' });
    expect(spentOnly.received.map((r) => r.json.type)).toEqual(['points.spent']);
    expect(otherReceiver.received).toHaveLength(0);

    // The same events through the outbox API.
    const events = await t.call('GET', `/v1/events?memberId=${member.id}`);
    expect(events.body.data.map((e: { id: string }) => e.id)).toEqual(got.map((r) => r.id));

    // The receiver answered before the worker recorded the outcomes.
    const log = await waitFor(async () => {
      const res = await t.call('GET', `/v1/webhook-deliveries?endpointId=${ep.id}`);
      return res.body.data.every((d: { status: string }) => d.status === 'succeeded') && res;
    });
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(3);
    for (const d of log.body.data) {
      expect(d).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, endpointId: ep.id });
      expect(d.attemptLog).toHaveLength(1);
      expect(d.attemptLog[0]).toMatchObject({ attempt: 1, outcome: 'succeeded', statusCode: 200, trigger: 'scheduled' });
      expect(d.attemptLog[0].latencyMs).toBeGreaterThanOrEqual(0);
    }
    const one = await t.call('GET', `/v1/webhook-deliveries/${log.body.data[0].id}`);
    expect(one.body.event.id).toBe(log.body.data[0].eventId);
    expect((await t.call('GET', `/v1/webhook-deliveries/${log.body.data[0].id}`, { key: other.key })).status).toBe(404);
  });

  it('gets every event to a receiver that fails then recovers exactly once after dedupe, never ahead of an earlier event of the same member', async () => {
    let failuresLeft = 5;
    const receiver = await startReceiver(() => (failuresLeft-- > 0 ? 500 : 200));
    const ep = await endpoint(receiver.url, ['points.earned']);
    const members = [await t.member(), await t.member(), await t.member()];
    for (let round = 1; round <= 4; round++) {
      for (const m of members) await t.earn(m.id, round);
    }
    const expected = await t.db.db.selectFrom('events').select(['id', 'member_id']).where('program_id', '=', t.program.id)
      .where('type', '=', 'points.earned').where('member_id', 'in', members.map((m) => m.id)).orderBy('id').execute();
    expect(expected).toHaveLength(12);

    await waitFor(() => receiver.acknowledged().length >= 12, 30_000, 'every event acknowledged');
    const acked = receiver.acknowledged();
    expect(new Set(acked.map((r) => r.id))).toEqual(new Set(expected.map((e) => `evt_${e.id}`)));
    expect(receiver.received.filter((r) => r.status === 500).length).toBe(5);

    // Per member: no request for event n+1 before event n was acknowledged.
    for (const m of members) {
      const mine = expected.filter((e) => e.member_id === m.id).map((e) => `evt_${e.id}`);
      const successAt = new Map(acked.filter((r) => mine.includes(r.id)).map((r) => [r.id, r.at]));
      expect(acked.filter((r) => mine.includes(r.id)).map((r) => r.id)).toEqual(mine);
      for (const r of receiver.received.filter((x) => mine.includes(x.id))) {
        const earlier = mine.slice(0, mine.indexOf(r.id));
        for (const e of earlier) expect(successAt.get(e)!).toBeLessThanOrEqual(r.at);
      }
      for (const amount of [1, 2, 3, 4]) {
        expect(acked.filter((r) => mine.includes(r.id))[amount - 1]!.json.data.amount).toBe(amount);
      }
    }
    const failedAttempts = await t.db.db.selectFrom('webhook_attempts as a').innerJoin('webhook_deliveries as d', 'd.id', 'a.delivery_id')
      .select(['a.status_code', 'a.outcome']).where('d.endpoint_id', '=', ep.id).where('a.outcome', '=', 'failed').execute();
    expect(failedAttempts).toHaveLength(5);
    expect(failedAttempts.every((a) => a.status_code === 500)).toBe(true);
    // The receiver answered before the worker recorded the last outcome.
    const health = await waitFor(async () => {
      const res = await t.call('GET', `/v1/webhook-endpoints/${ep.id}`);
      return res.body.health.pendingDeliveries === 0 && res;
    });
    expect(health.body).toMatchObject({ status: 'enabled', health: { consecutiveFailures: 0, failingSince: null, pendingDeliveries: 0 } });
  });

  it('signs with both secrets during a rotation’s grace period, then with the new one only', async () => {
    const receiver = await startReceiver();
    const ep = await endpoint(receiver.url, ['points.earned']);
    const m = await t.member();
    const rotated = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { body: { graceMs: 3_600_000 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(ep.secret);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    const secrets = await t.call('GET', `/v1/webhook-endpoints/${ep.id}/secret`);
    expect(secrets.body).toMatchObject({ secret: rotated.body.secret, previousSecret: ep.secret, previousSecretExpiresAt: expect.any(String) });

    await t.earn(m.id, 5);
    const [during] = await waitFor(() => receiver.acknowledged().length >= 1 && receiver.acknowledged());
    expect(during!.signature.split(' ')).toHaveLength(2);
    expect(verifySignature(ep.secret, during!)).toBe(true);
    expect(verifySignature(rotated.body.secret, during!)).toBe(true);

    const again = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { body: { graceMs: 0 } });
    await t.earn(m.id, 6);
    const after = (await waitFor(() => receiver.acknowledged().length >= 2 && receiver.acknowledged()))[1]!;
    expect(after.signature.split(' ')).toHaveLength(1);
    expect(verifySignature(again.body.secret, after)).toBe(true);
    expect(verifySignature(rotated.body.secret, after)).toBe(false);
    expect((await t.call('GET', `/v1/webhook-endpoints/${ep.id}/secret`)).body).toMatchObject({ secret: again.body.secret, previousSecret: null, previousSecretExpiresAt: null });
  });

  it('sends a delivery again on request, with the same webhook-id', async () => {
    const receiver = await startReceiver();
    const ep = await endpoint(receiver.url, ['member.created']);
    await t.member();
    const delivery = await waitFor(async () => {
      const [d] = (await t.call('GET', `/v1/webhook-deliveries?endpointId=${ep.id}`)).body.data;
      return d?.status === 'succeeded' && d;
    });
    const res = await t.call('POST', `/v1/webhook-deliveries/${delivery.id}/redeliver`);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending');
    await waitFor(() => receiver.received.length >= 2);
    expect(receiver.received[1]!.id).toBe(receiver.received[0]!.id);
    expect(receiver.received[1]!.body).toBe(receiver.received[0]!.body);
    const after = await waitFor(async () => {
      const d = (await t.call('GET', `/v1/webhook-deliveries/${delivery.id}`)).body;
      return d.status === 'succeeded' && d.attempts === 2 && d;
    });
    expect(after.attemptLog.map((a: { trigger: string }) => a.trigger)).toEqual(['scheduled', 'manual']);
  });

  it('never follows a redirect, and records timeouts and refused connections as failures', async () => {
    const elsewhere = await startReceiver();
    const redirecting = await startReceiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    const slow = await startReceiver(() => ({ status: 200, delayMs: 3_000 }));
    const closed = await startReceiver();
    await closed.close();
    const a = await endpoint(redirecting.url, ['member.created']);
    const b = await endpoint(slow.url, ['member.created']);
    const c = await endpoint(closed.url, ['member.created']);
    await t.member();
    const lastError = (id: string) => waitFor(async () => {
      const [d] = (await t.call('GET', `/v1/webhook-deliveries?endpointId=${id}`)).body.data;
      return d?.attempts >= 1 && d;
    });
    const redirected = await lastError(a.id);
    expect(redirected.lastStatusCode).toBe(302);
    expect(redirected.lastError).toMatch(/redirect .* not followed/);
    expect((await lastError(b.id)).lastError).toMatch(/timed out after 2000 ms/);
    expect((await lastError(c.id)).lastError).toMatch(/ECONNREFUSED/);
    expect(elsewhere.received).toHaveLength(0);
    for (const id of [a.id, b.id, c.id]) await t.call('DELETE', `/v1/webhook-endpoints/${id}`);
  });
});
