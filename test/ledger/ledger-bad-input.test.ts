import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { ledgerKit } from './ledger-kit.ts';

/**
 * Every bad input to every ledger route gets a 4xx problem with the right code and changes
 * nothing: no entry, operation, lot, reservation, balance, event — and a malformed request (400)
 * does not even use up its Idempotency-Key.
 */
describe('ledger routes refuse bad input and change nothing', async () => {
  const t = await setupTestApp();
  const k = ledgerKit(t);
  const other = await t.newProgram();
  const foreigner = await t.member({}, other);

  const m = await t.member();
  const peer = await t.member();
  const earned = await t.earn(m.id, 1000);
  const spent = await k.post(`/v1/members/${m.id}/spend`, { amount: 10 });
  const { reservation } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 10 });
  const foreignEarn = await t.earn(foreigner.id, 5, {}, other);
  const foreignReservation = (await k.post(`/v1/members/${foreigner.id}/reservations`, { amount: 1 }, 201, other)).reservation;

  type Route = { name: string; url: (id: string) => string; id: string; missing: string; body: Record<string, unknown>; amountRequired: boolean; signed?: boolean };
  const routes: Route[] = [
    { name: 'earn', url: (id) => `/v1/members/${id}/earn`, id: m.id, missing: 'member_not_found', body: { amount: 1 }, amountRequired: true },
    { name: 'spend', url: (id) => `/v1/members/${id}/spend`, id: m.id, missing: 'member_not_found', body: { amount: 1 }, amountRequired: true },
    { name: 'reserve', url: (id) => `/v1/members/${id}/reservations`, id: m.id, missing: 'member_not_found', body: { amount: 1 }, amountRequired: true },
    { name: 'adjust', url: (id) => `/v1/members/${id}/adjustments`, id: m.id, missing: 'member_not_found', body: { amount: 1, reason: 'test' }, amountRequired: true, signed: true },
    { name: 'post', url: (id) => `/v1/reservations/${id}/post`, id: reservation.id, missing: 'reservation_not_found', body: { amount: 1 }, amountRequired: false },
    { name: 'void', url: (id) => `/v1/reservations/${id}/void`, id: reservation.id, missing: 'reservation_not_found', body: {}, amountRequired: false },
    { name: 'reverse', url: (id) => `/v1/operations/${id}/reverse`, id: earned.operation.id, missing: 'operation_not_found', body: { amount: 1 }, amountRequired: false },
    { name: 'restore', url: (id) => `/v1/operations/${id}/restore`, id: spent.operation.id, missing: 'operation_not_found', body: { amount: 1 }, amountRequired: false },
  ];
  const foreignIds: Record<string, string> = { member_not_found: foreigner.id, reservation_not_found: foreignReservation.id, operation_not_found: foreignEarn.operation.id };

  const badAmounts: [string, unknown][] = [
    ['zero', 0], ['negative', -1], ['fractional', 1.5], ['2^53', 2 ** 53], ['1e300', 1e300], ['a string', '100'], ['null', null], ['a boolean', true],
  ];

  /** A 400 must leave everything unchanged, including the Idempotency-Key, which a corrected retry can then use. */
  async function rejectsMalformed(url: string, body: unknown, code = 'validation_failed') {
    const keysBefore = await k.idempotencyKeys();
    await k.rejects(url, body, 400, code);
    expect(await k.idempotencyKeys()).toBe(keysBefore);
  }

  for (const route of routes) {
    describe(route.name, () => {
      if ('amount' in route.body) {
        for (const [label, amount] of badAmounts) {
          if (route.signed && label === 'negative') continue;
          it(`amount ${label} → 400`, () => rejectsMalformed(route.url(route.id), { ...route.body, amount }));
        }
        if (route.signed) it('amount -2^53 → 400', () => rejectsMalformed(route.url(route.id), { ...route.body, amount: -(2 ** 53) }));
        if (route.amountRequired) {
          it('missing amount → 400', () => rejectsMalformed(route.url(route.id), { ...route.body, amount: undefined }));
        }
      }
      it('an unknown property → 400', () => rejectsMalformed(route.url(route.id), { ...route.body, bonus: 1 }));
      it('a malformed id → 400', () => rejectsMalformed(route.url('not-a-uuid'), route.body));
      it('invalid JSON → 400 invalid_json', () => rejectsMalformed(route.url(route.id), '{"amount": 1', 'invalid_json'));
      it(`an unknown id → 404 ${route.missing}`, () => k.rejects(route.url(randomUUID()), route.body, 404, route.missing));
      it(`another program’s id → 404 ${route.missing}`, () => k.rejects(route.url(foreignIds[route.missing]!), route.body, 404, route.missing));
      it('no Idempotency-Key → 400 idempotency_key_required', () =>
        k.rejects(route.url(route.id), route.body, 400, 'idempotency_key_required', { idempotencyKey: false }));
    });
  }

  describe('transfer', () => {
    const body = { fromMemberId: m.id, toMemberId: peer.id, amount: 1 };
    for (const [label, amount] of badAmounts) it(`amount ${label} → 400`, () => rejectsMalformed('/v1/transfers', { ...body, amount }));
    it('missing amount → 400', () => rejectsMalformed('/v1/transfers', { ...body, amount: undefined }));
    it('an unknown property → 400', () => rejectsMalformed('/v1/transfers', { ...body, note: 'x' }));
    it('a malformed member id → 400', () => rejectsMalformed('/v1/transfers', { ...body, toMemberId: 'nope' }));
    it('invalid JSON → 400 invalid_json', () => rejectsMalformed('/v1/transfers', '{', 'invalid_json'));
    it('an unknown sender → 404', () => k.rejects('/v1/transfers', { ...body, fromMemberId: randomUUID() }, 404, 'member_not_found'));
    it('an unknown receiver → 404', () => k.rejects('/v1/transfers', { ...body, toMemberId: randomUUID() }, 404, 'member_not_found'));
    it('another program’s member → 404', () => k.rejects('/v1/transfers', { ...body, toMemberId: foreigner.id }, 404, 'member_not_found'));
    it('no Idempotency-Key → 400', () => k.rejects('/v1/transfers', body, 400, 'idempotency_key_required', { idempotencyKey: false }));
  });

  describe('earn and adjust dates', () => {
    it('expiresAt in the past → 400', () => rejectsMalformed(`/v1/members/${m.id}/earn`, { amount: 1, expiresAt: '2000-01-01T00:00:00Z' }));
    it('expiresAt not a date-time → 400', () => rejectsMalformed(`/v1/members/${m.id}/earn`, { amount: 1, expiresAt: 'tomorrow' }));
    it('pendingUntil not a date-time → 400', () => rejectsMalformed(`/v1/members/${m.id}/earn`, { amount: 1, pendingUntil: '2026-13-01' }));
    it('adjust with expiresAt in the past → 400', () => rejectsMalformed(`/v1/members/${m.id}/adjustments`, { amount: 1, reason: 'test', expiresAt: '2000-01-01T00:00:00Z' }));
    it('reservation timeout below 1 s → 400', () => rejectsMalformed(`/v1/members/${m.id}/reservations`, { amount: 1, timeoutMs: 999 }));
  });

  describe('maintenance', () => {
    for (const batchSize of [0, 1.5, '10']) {
      it(`batchSize ${JSON.stringify(batchSize)} → 400`, () => rejectsMalformed('/v1/ledger/maintenance', { batchSize }));
    }
    it('an unknown property → 400', () => rejectsMalformed('/v1/ledger/maintenance', { all: true }));
  });

  describe('reads', () => {
    const cases: [string, string, number, string][] = [
      ['balances of a malformed id', '/v1/members/x/balances', 400, 'validation_failed'],
      ['balances of an unknown member', `/v1/members/${randomUUID()}/balances`, 404, 'member_not_found'],
      ['balances of another program’s member', `/v1/members/${foreigner.id}/balances`, 404, 'member_not_found'],
      ['a balance in an unknown wallet', `/v1/members/${m.id}/balances/miles`, 404, 'wallet_not_found'],
      ['a balance in a malformed wallet code', `/v1/members/${m.id}/balances/Miles!`, 400, 'validation_failed'],
      ['entries with a forged cursor', `/v1/members/${m.id}/entries?cursor=-1`, 400, 'validation_failed'],
      ['entries with limit 0', `/v1/members/${m.id}/entries?limit=0`, 400, 'validation_failed'],
      ['entries with limit 201', `/v1/members/${m.id}/entries?limit=201`, 400, 'validation_failed'],
      ['entries with an unknown parameter', `/v1/members/${m.id}/entries?sort=asc`, 400, 'validation_failed'],
      ['entries of an unknown wallet', `/v1/members/${m.id}/entries?wallet=miles`, 404, 'wallet_not_found'],
      ['entries of an unknown member', `/v1/members/${randomUUID()}/entries`, 404, 'member_not_found'],
      ['lots with includeEmpty=maybe', `/v1/members/${m.id}/lots?includeEmpty=maybe`, 400, 'validation_failed'],
      ['lots of an unknown member', `/v1/members/${randomUUID()}/lots`, 404, 'member_not_found'],
      ['an unknown reservation', `/v1/reservations/${randomUUID()}`, 404, 'reservation_not_found'],
      ['a malformed reservation id', '/v1/reservations/123', 400, 'validation_failed'],
      ['another program’s reservation', `/v1/reservations/${foreignReservation.id}`, 404, 'reservation_not_found'],
      ['an unknown operation', `/v1/operations/${randomUUID()}`, 404, 'operation_not_found'],
      ['another program’s operation', `/v1/operations/${foreignEarn.operation.id}`, 404, 'operation_not_found'],
    ];
    for (const [label, url, status, code] of cases) {
      it(`${label} → ${status} ${code}`, async () => {
        const before = await k.snapshot(t.program.id);
        const res = await t.call('GET', url);
        expect(res.status, JSON.stringify(res.body)).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.code).toBe(code);
        expect(await k.snapshot(t.program.id)).toEqual(before);
      });
    }
  });

  it('a corrected retry under the key of a malformed request runs', async () => {
    const key = randomUUID();
    expect((await t.call('POST', `/v1/members/${m.id}/earn`, { body: { amount: 0 }, idempotencyKey: key })).status).toBe(400);
    const ok = await t.call('POST', `/v1/members/${m.id}/earn`, { body: { amount: 1 }, idempotencyKey: key });
    expect(ok.status).toBe(201);
    expect(ok.headers['idempotent-replayed']).toBeUndefined();
  });

  it('leaves the ledger consistent', () => k.verify());
});
