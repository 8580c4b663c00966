import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { startReceiver, startTestWorker, waitFor } from './support.ts';

describe('webhook endpoints API', async () => {
  const t = await setupTestApp();

  it('creates, lists, changes and deletes endpoints, one program at a time', async () => {
    const created = await t.call('POST', '/v1/webhook-endpoints', {
      body: { url: 'https://hooks.example.com/laurel', eventTypes: ['points.*', 'member.created', 'points.earned', 'points.*'], description: 'CRM' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'https://hooks.example.com/laurel', eventTypes: ['points.*', 'member.created', 'points.earned'], status: 'enabled', description: 'CRM' });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.body.id;

    const list = await t.call('GET', '/v1/webhook-endpoints');
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([id]);
    expect(list.body.data[0].secret).toBeUndefined();

    const patched = await t.call('PATCH', `/v1/webhook-endpoints/${id}`, { body: { eventTypes: ['*'], status: 'disabled' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ eventTypes: ['*'], status: 'disabled' });
    expect(patched.body.disabledReason).toMatch(/^disabled by api_key:/);
    const enabled = await t.call('PATCH', `/v1/webhook-endpoints/${id}`, { body: { status: 'enabled' } });
    expect(enabled.body).toMatchObject({ status: 'enabled', disabledReason: null, disabledAt: null });

    const other = await t.newProgram();
    for (const [method, url] of [['GET', `/v1/webhook-endpoints/${id}`], ['GET', `/v1/webhook-endpoints/${id}/secret`], ['PATCH', `/v1/webhook-endpoints/${id}`], ['DELETE', `/v1/webhook-endpoints/${id}`]] as const) {
      const res = await t.call(method, url, { key: other.key, ...(method === 'PATCH' ? { body: { description: 'x' } } : {}) });
      expect(res.status, `${method} ${url}`).toBe(404);
      expect(res.body.code).toBe('webhook_endpoint_not_found');
    }
    expect((await t.call('GET', '/v1/webhook-endpoints', { key: other.key })).body.data).toEqual([]);

    expect((await t.call('DELETE', `/v1/webhook-endpoints/${id}`)).status).toBe(204);
    expect((await t.call('GET', `/v1/webhook-endpoints/${id}`)).status).toBe(404);
    const audit = await t.db.db.selectFrom('audit_events').select('action').where('subject_id', '=', id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.updated', 'webhook_endpoint.deleted']);
  });

  it('refuses URLs it should not call and event types that do not exist, changing nothing', async () => {
    const bad = [
      [{ url: 'ftp://example.com/hook', eventTypes: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'https://user:pw@example.com/hook', eventTypes: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'https://example.com/hook#x', eventTypes: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'not a url at all', eventTypes: ['*'] }, 'invalid_webhook_url'],
      [{ url: 'https://example.com/hook', eventTypes: ['point.earned'] }, 'unknown_event_type'],
      [{ url: 'https://example.com/hook', eventTypes: ['nothing.*'] }, 'unknown_event_type'],
      [{ url: 'https://example.com/hook', eventTypes: ['Points.Earned'] }, 'unknown_event_type'],
      [{ url: 'https://example.com/hook', eventTypes: [] }, 'validation_failed'],
      [{ url: 'https://example.com/hook', eventTypes: ['*'], secret: 'whsec_tooshort' }, 'validation_failed'],
    ] as const;
    for (const [body, code] of bad) {
      const res = await t.call('POST', '/v1/webhook-endpoints', { body });
      expect(res.status, JSON.stringify(body)).toBe(code === 'validation_failed' ? (res.status === 400 ? 400 : 422) : 422);
      expect(res.body.code, JSON.stringify(body)).toBe(code);
    }
    expect((await t.call('GET', '/v1/webhook-endpoints')).body.data).toEqual([]);
    const types = await t.call('GET', '/v1/event-types');
    expect(types.status).toBe(200);
    const names = types.body.data.map((e: { type: string }) => e.type);
    for (const type of ['member.created', 'points.earned', 'points.expiring_soon', 'member.birthday', 'member.at_risk', 'tier.changed', 'reward.affordable', 'webhook_endpoint.disabled']) {
      expect(names).toContain(type);
    }
    expect(types.body.data.find((e: { type: string }) => e.type === 'points.earned').data.properties.amount.type).toBe('integer');
  });

  it('accepts an own secret and is idempotent by key', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const body = { url: 'https://example.com/own', eventTypes: ['member.*'], secret };
    const first = await t.call('POST', '/v1/webhook-endpoints', { body, idempotencyKey: 'create-own' });
    const again = await t.call('POST', '/v1/webhook-endpoints', { body, idempotencyKey: 'create-own' });
    expect(first.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    expect(first.body.secret).toBe(secret);
    expect((await t.call('GET', '/v1/webhook-endpoints')).body.data.filter((e: { url: string }) => e.url === 'https://example.com/own')).toHaveLength(1);
    await t.call('DELETE', `/v1/webhook-endpoints/${first.body.id}`);
  });

  it('cancels pending deliveries of a deleted endpoint', async () => {
    const receiver = await startReceiver(() => 503);
    const { stop } = await startTestWorker(t, { webhookRetryScheduleMs: [60_000] });
    const ep = (await t.call('POST', '/v1/webhook-endpoints', { body: { url: receiver.url, eventTypes: ['member.created'] } })).body;
    await t.member();
    await waitFor(() => receiver.received.length >= 1);
    const pending = await waitFor(async () => {
      const [d] = (await t.call('GET', `/v1/webhook-deliveries?endpointId=${ep.id}&status=pending`)).body.data;
      return d?.attempts === 1 && d;
    });
    expect(pending.nextAttemptAt).not.toBeNull();
    expect((await t.call('DELETE', `/v1/webhook-endpoints/${ep.id}`)).status).toBe(204);
    const row = await t.db.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', Number(pending.id)).executeTakeFirstOrThrow();
    expect(row.status).toBe('cancelled');
    await stop();
  });
});
