import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { eventType, eventTypes } from '../../src/events/event-types.ts';
import { DAY, setupTestApp, TestClock } from '../helpers.ts';

describe('the event catalog', async () => {
  const clock = new TestClock(new Date('2030-01-10T12:00:00Z'));
  const t = await setupTestApp({ clock });

  it('documents every event the core writes, and every payload matches its schema', async () => {
    const a = await t.member({ firstName: 'A', email: 'a@example.test' });
    const b = await t.member({ firstName: 'B' });
    await t.call('PATCH', `/v1/members/${a.id}`, { body: { lastName: 'Z' } });
    await t.call('PATCH', `/v1/members/${b.id}`, { body: { status: 'blocked' } });
    await t.call('PATCH', `/v1/members/${b.id}`, { body: { status: 'active' } });
    const earned = await t.earn(a.id, 500, { reference: { type: 'order', id: 'o-1' } });
    await t.earn(a.id, 20, { pendingUntil: '2030-01-20T00:00:00Z' });
    await t.earn(a.id, 30, { pendingUntil: '2030-01-11T00:00:00Z' });
    await t.earn(a.id, 300, { expiresAt: '2030-01-11T00:00:00Z' });
    const spend = await t.call('POST', `/v1/members/${a.id}/spend`, { body: { amount: 50 } });
    const r1 = await t.call('POST', `/v1/members/${a.id}/reservations`, { body: { amount: 10 } });
    await t.call('POST', `/v1/reservations/${r1.body.reservation.id}/post`, { body: {} });
    const r2 = await t.call('POST', `/v1/members/${a.id}/reservations`, { body: { amount: 10 } });
    await t.call('POST', `/v1/reservations/${r2.body.reservation.id}/void`);
    await t.call('POST', `/v1/members/${a.id}/reservations`, { body: { amount: 10, timeoutMs: 60_000 } });
    await t.call('POST', `/v1/operations/${earned.operation.id}/reverse`, { body: { amount: 5 } });
    await t.call('POST', `/v1/operations/${spend.body.operation.id}/restore`, { body: { amount: 5 } });
    await t.call('POST', `/v1/members/${a.id}/adjustments`, { body: { amount: 7, reason: 'goodwill' } });
    await t.call('POST', `/v1/members/${a.id}/adjustments`, { body: { amount: -3, reason: 'correction' } });
    await t.call('POST', '/v1/transfers', { body: { fromMemberId: a.id, toMemberId: b.id, amount: 4 } });
    clock.advance(2 * DAY);
    await t.call('POST', '/v1/ledger/maintenance');

    const events = await t.db.db.selectFrom('events').selectAll().where('program_id', '=', t.program.id).orderBy('id').execute();
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      'member.created', 'member.updated', 'member.status_changed', 'points.earned', 'points.vested', 'points.spent', 'points.reversed', 'points.restored',
      'points.expired', 'points.adjusted', 'points.transferred', 'reservation.created', 'reservation.voided', 'reservation.expired',
    ]) expect(types, type).toContain(type);
    const vested = events.filter((e) => e.type === 'points.vested').map((e) => e.payload);
    expect(vested).toEqual([expect.objectContaining({ memberId: a.id, wallet: 'points', amount: 30, settledDebt: 0, vestedAt: '2030-01-11T00:00:00.000Z' })]);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    for (const event of events) {
      const info = eventType(event.type);
      expect(info, `${event.type} is documented`).toBeDefined();
      const validate = ajv.compile(info!.data);
      validate(event.payload);
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
      expect(errors, `${event.type}: ${JSON.stringify(event.payload)}`).toEqual([]);
      expect(event.member_id === null, `${event.type} names its member`).toBe(!info!.perMember);
    }

    const listed = await t.call('GET', `/v1/events?type=points.earned&limit=2`);
    expect(listed.body.data).toHaveLength(2);
    expect(listed.body.nextCursor).toBe(listed.body.data[1].id);
    const next = await t.call('GET', `/v1/events?type=points.earned&after=${listed.body.nextCursor}`);
    expect(next.body.data.map((e: { data: { amount: number } }) => e.data.amount)).toEqual([30, 300]);
    const one = await t.call('GET', `/v1/events/${listed.body.data[0].id}`);
    expect(one.body).toEqual(listed.body.data[0]);
    const other = await t.newProgram();
    expect((await t.call('GET', `/v1/events/${listed.body.data[0].id}`, { key: other.key })).body.code).toBe('event_not_found');
    expect((await t.call('GET', '/v1/events/evt_x')).status).toBe(404);
  });

  it('has a section with the data fields of each core, job, webhook and message event type in docs/events.md', () => {
    const doc = readFileSync(new URL('../../docs/events.md', import.meta.url), 'utf8');
    const mine = eventTypes().filter((e) => ['members', 'ledger', 'jobs', 'webhooks', 'notifications'].includes(e.source));
    expect(mine.length).toBeGreaterThanOrEqual(18);
    for (const info of mine) {
      const section = doc.split(`\n### ${info.type}\n`)[1]?.split('\n### ')[0];
      expect(section, `docs/events.md documents ${info.type}`).toBeDefined();
      for (const field of Object.keys(info.data.properties)) expect(section, `${info.type}.${field}`).toContain(`\`${field}\``);
    }
  });
});
