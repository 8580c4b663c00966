import { describe, expect, it } from 'vitest';
import { DAY, setupTestApp } from '../helpers.ts';
import { iso, ledgerKit, plus } from './ledger-kit.ts';

describe('ledger routes', async () => {
  const t = await setupTestApp();
  const k = ledgerKit(t);
  t.clock.set('2026-03-02T12:00:00Z');
  const now = () => t.clock.current!;
  const earn = (memberId: string, body: Record<string, unknown>) => k.post(`/v1/members/${memberId}/earn`, { pendingUntil: null, ...body });
  const spend = (memberId: string, amount: number) => k.post(`/v1/members/${memberId}/spend`, { amount });

  describe('earn', () => {
    it('vests at once: one entry from program:issued to member:available, with its reference', async () => {
      const m = await t.member();
      const res = await earn(m.id, { amount: 100, reference: { type: 'order', id: 'o-1' } });
      expect(res.lot).toMatchObject({ amount: 100, remaining: 100, vested: true, vestsAt: null, expiresAt: null });
      expect(res.balance).toEqual({ wallet: 'points', available: 100, pending: 0, reserved: 0 });
      const { data } = await k.entries(m.id);
      expect(data).toHaveLength(1);
      expect(data[0]).toMatchObject({ kind: 'earn', amount: 100, from: 'program:issued', to: 'member:available', availableDelta: 100, lotId: res.lot.id, operationId: res.operation.id, reference: { type: 'order', id: 'o-1' } });
    });

    it('stays pending until pendingUntil, then vests', async () => {
      const m = await t.member();
      const res = await earn(m.id, { amount: 100, pendingUntil: iso(plus(now(), 2 * DAY)) });
      expect(res.lot).toMatchObject({ vested: false, vestsAt: iso(plus(now(), 2 * DAY)) });
      expect(await k.balance(m.id)).toMatchObject({ available: 0, pending: 100 });
      await k.rejects(`/v1/members/${m.id}/spend`, { amount: 1 }, 422, 'insufficient_points');
      t.clock.advance(2 * DAY);
      expect(await k.balance(m.id)).toMatchObject({ available: 100, pending: 0 });
      expect((await k.entries(m.id)).data[0]).toMatchObject({ kind: 'vest', from: 'member:pending', to: 'member:available', amount: 100 });
    });

    it('uses the wallet’s default pending period when pendingUntil is absent; null vests at once', async () => {
      const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points', pendingDays: 14 }] });
      const m = await t.member({}, p);
      const pending = await k.post(`/v1/members/${m.id}/earn`, { amount: 100 }, 201, p);
      expect(pending.lot).toMatchObject({ vested: false, vestsAt: iso(plus(now(), 14 * DAY)) });
      const vested = await k.post(`/v1/members/${m.id}/earn`, { amount: 5, pendingUntil: null }, 201, p);
      expect(vested.lot.vested).toBe(true);
      expect(await k.balance(m.id, 'points', p)).toMatchObject({ available: 5, pending: 100 });
    });

    it('takes an explicit expiresAt over the wallet policy, and lists it in nextExpirations', async () => {
      const m = await t.member();
      const expiresAt = iso(plus(now(), 30 * DAY));
      expect((await earn(m.id, { amount: 100, expiresAt })).lot.expiresAt).toBe(expiresAt);
      await earn(m.id, { amount: 50 });
      expect((await k.balance(m.id)).nextExpirations).toEqual([{ amount: 100, expiresAt }]);
    });
  });

  describe('spend', () => {
    it('consumes the soonest-expiring lots first and never-expiring ones last, never below zero', async () => {
      const m = await t.member();
      const never = await earn(m.id, { amount: 100 });
      const late = await earn(m.id, { amount: 50, expiresAt: iso(plus(now(), 10 * DAY)) });
      const soon = await earn(m.id, { amount: 30, expiresAt: iso(plus(now(), 5 * DAY)) });
      const res = await spend(m.id, 60);
      expect(res.lots).toEqual([{ lotId: soon.lot.id, amount: 30 }, { lotId: late.lot.id, amount: 30 }]);
      expect(res.balance.available).toBe(120);
      expect((await k.lots(m.id)).map((l) => [l.id, l.remaining])).toEqual([[late.lot.id, 20], [never.lot.id, 100]]);
      const problem = await k.rejects(`/v1/members/${m.id}/spend`, { amount: 121 }, 422, 'insufficient_points');
      expect(problem).toMatchObject({ available: 120, requested: 121 });
    });
  });

  describe('reservations', () => {
    it('hold points until posted in full', async () => {
      const m = await t.member();
      await earn(m.id, { amount: 100 });
      const { reservation, balance } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 40, reference: { type: 'checkout', id: 'c-1' } });
      expect(reservation).toMatchObject({ status: 'pending', amount: 40, postedAmount: 0 });
      expect(balance).toEqual({ wallet: 'points', available: 60, pending: 0, reserved: 40 });
      await k.rejects(`/v1/members/${m.id}/spend`, { amount: 61 }, 422, 'insufficient_points');
      const posted = await k.post(`/v1/reservations/${reservation.id}/post`, undefined, 200);
      expect(posted.reservation).toMatchObject({ status: 'posted', postedAmount: 40, postOperationId: posted.operation.id });
      expect(posted.operation).toMatchObject({ kind: 'post', amount: 40, reference: { type: 'checkout', id: 'c-1' } });
      expect(await k.balance(m.id)).toMatchObject({ available: 60, reserved: 0, lifetime: { spent: 40 } });
      await k.rejects(`/v1/reservations/${reservation.id}/post`, undefined, 409, 'reservation_not_pending');
      await k.rejects(`/v1/reservations/${reservation.id}/void`, undefined, 409, 'reservation_not_pending');
    });

    it('post less than reserved: the rest goes back to its lots', async () => {
      const m = await t.member();
      const lot = (await earn(m.id, { amount: 100, expiresAt: iso(plus(now(), 5 * DAY)) })).lot;
      const { reservation } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 70 });
      await k.rejects(`/v1/reservations/${reservation.id}/post`, { amount: 71 }, 422, 'amount_exceeds_reservation');
      const posted = await k.post(`/v1/reservations/${reservation.id}/post`, { amount: 30 }, 200);
      expect(posted.reservation).toMatchObject({ status: 'posted', postedAmount: 30 });
      expect(posted.balance).toEqual({ wallet: 'points', available: 70, pending: 0, reserved: 0 });
      expect((await k.lots(m.id)).map((l) => [l.id, l.remaining])).toEqual([[lot.id, 70]]);
    });

    it('void gives the points back to the lots they came from', async () => {
      const m = await t.member();
      const a = (await earn(m.id, { amount: 10, expiresAt: iso(plus(now(), 3 * DAY)) })).lot;
      const b = (await earn(m.id, { amount: 10 })).lot;
      const { reservation } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 15 });
      expect((await k.lots(m.id)).map((l) => [l.id, l.remaining])).toEqual([[b.id, 5]]);
      const voided = await k.post(`/v1/reservations/${reservation.id}/void`, undefined, 200);
      expect(voided.reservation.status).toBe('voided');
      expect(voided.operation.kind).toBe('void');
      expect((await k.lots(m.id)).map((l) => [l.id, l.remaining])).toEqual([[a.id, 10], [b.id, 10]]);
    });

    it('expire after their timeout; reading one shows it expired and the points are back', async () => {
      const m = await t.member();
      await earn(m.id, { amount: 100 });
      const { reservation } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 40, timeoutMs: 60_000 });
      expect(reservation.expiresAt).toBe(iso(plus(now(), 60_000)));
      t.clock.advance(59_999);
      expect((await t.call('GET', `/v1/reservations/${reservation.id}`)).body.status).toBe('pending');
      t.clock.advance(1);
      const read = await t.call('GET', `/v1/reservations/${reservation.id}`);
      expect(read.body).toMatchObject({ status: 'expired', resolvedAt: iso(now()) });
      expect(await k.balance(m.id)).toMatchObject({ available: 100, reserved: 0 });
      await k.rejects(`/v1/reservations/${reservation.id}/post`, undefined, 409, 'reservation_not_pending');
    });

    it('time out even when nobody reads them: the next operation releases them first', async () => {
      const m = await t.member();
      await earn(m.id, { amount: 10 });
      await k.post(`/v1/members/${m.id}/reservations`, { amount: 10, timeoutMs: 1000 });
      t.clock.advance(1000);
      expect((await spend(m.id, 10)).balance).toEqual({ wallet: 'points', available: 0, pending: 0, reserved: 0 });
    });
  });

  describe('reverse', () => {
    it('takes back a whole earn, then refuses a second time', async () => {
      const m = await t.member();
      const e = await earn(m.id, { amount: 100 });
      await earn(m.id, { amount: 7 });
      const res = await k.post(`/v1/operations/${e.operation.id}/reverse`, { reference: { type: 'refund', id: 'r-1' } });
      expect(res).toMatchObject({ operation: { kind: 'reverse', amount: 100, targetOperationId: e.operation.id }, alreadyExpired: 0, forgiven: 0, balance: { available: 7 } });
      const target = await t.call('GET', `/v1/operations/${e.operation.id}`);
      expect(target.body.reversed).toBe(100);
      await k.rejects(`/v1/operations/${e.operation.id}/reverse`, undefined, 422, 'reversal_exceeds_earn');
      await k.verify();
    });

    it('takes back part of an earn, never more than what is left of it', async () => {
      const m = await t.member();
      const e = await earn(m.id, { amount: 100 });
      expect((await k.post(`/v1/operations/${e.operation.id}/reverse`, { amount: 30 })).balance.available).toBe(70);
      const problem = await k.rejects(`/v1/operations/${e.operation.id}/reverse`, { amount: 71 }, 422, 'reversal_exceeds_earn');
      expect(problem).toMatchObject({ reversible: 70, earned: 100 });
      expect((await k.post(`/v1/operations/${e.operation.id}/reverse`, undefined)).operation.amount).toBe(70);
      expect(await k.balance(m.id)).toMatchObject({ available: 0, lifetime: { earned: 100, reversed: 100 } });
    });

    it('takes back pending points before they vest', async () => {
      const m = await t.member();
      const e = await earn(m.id, { amount: 100, pendingUntil: iso(plus(now(), DAY)) });
      const res = await k.post(`/v1/operations/${e.operation.id}/reverse`, { amount: 40 });
      expect(res.balance).toEqual({ wallet: 'points', available: 0, pending: 60, reserved: 0 });
      t.clock.advance(DAY);
      expect(await k.balance(m.id)).toMatchObject({ available: 60, pending: 0 });
    });

    it('refuses what is not an earn', async () => {
      const m = await t.member();
      await earn(m.id, { amount: 10 });
      const s = await spend(m.id, 5);
      await k.rejects(`/v1/operations/${s.operation.id}/reverse`, undefined, 422, 'not_an_earn');
    });

    it('after the lot was spent, allow_negative takes the other points and then goes below zero; later points settle the debt', async () => {
      const p = await t.newProgram({ reversalPolicy: 'allow_negative' });
      const m = await t.member({}, p);
      const order = await k.post(`/v1/members/${m.id}/earn`, { amount: 100, pendingUntil: null }, 201, p);
      await k.post(`/v1/members/${m.id}/earn`, { amount: 30, pendingUntil: null }, 201, p);
      await k.post(`/v1/members/${m.id}/spend`, { amount: 110 }, 201, p);
      const res = await k.post(`/v1/operations/${order.operation.id}/reverse`, undefined, 201, p);
      expect(res).toMatchObject({ operation: { amount: 100 }, forgiven: 0, balance: { available: -80 } });
      await k.rejects(`/v1/members/${m.id}/spend`, { amount: 1 }, 422, 'insufficient_points', { program: p });
      const later = await k.post(`/v1/members/${m.id}/earn`, { amount: 50, pendingUntil: null }, 201, p);
      expect(later.balance.available).toBe(-30);
      expect(later.lot.remaining).toBe(0);
      const pending = await k.post(`/v1/members/${m.id}/earn`, { amount: 100, pendingUntil: iso(plus(now(), DAY)) }, 201, p);
      t.clock.advance(DAY);
      expect(await k.balance(m.id, 'points', p)).toMatchObject({ available: 70, pending: 0 });
      expect((await k.lots(m.id, '', p)).map((l) => [l.id, l.remaining])).toEqual([[pending.lot.id, 70]]);
      await k.verify(p);
    });

    it('after the lot was spent, take_remaining takes what is there and forgives the rest', async () => {
      const p = await t.newProgram();
      await k.setPolicy('take_remaining', p);
      const m = await t.member({}, p);
      const order = await k.post(`/v1/members/${m.id}/earn`, { amount: 100, pendingUntil: null }, 201, p);
      await k.post(`/v1/members/${m.id}/earn`, { amount: 30, pendingUntil: null }, 201, p);
      await k.post(`/v1/members/${m.id}/spend`, { amount: 110 }, 201, p);
      const res = await k.post(`/v1/operations/${order.operation.id}/reverse`, undefined, 201, p);
      expect(res).toMatchObject({ operation: { amount: 20, metadata: { requested: 100, forgiven: 80 } }, forgiven: 80, balance: { available: 0 } });
      expect((await t.call('GET', `/v1/operations/${order.operation.id}`, { key: p.key })).body.reversed).toBe(100);
      await k.verify(p);
    });

    it('does not take again what already expired from the earn’s lot', async () => {
      const m = await t.member();
      const e = await earn(m.id, { amount: 100, expiresAt: iso(plus(now(), DAY)) });
      await spend(m.id, 40);
      await earn(m.id, { amount: 50 });
      t.clock.advance(DAY);
      expect(await k.balance(m.id)).toMatchObject({ available: 50, lifetime: { expired: 60 } });
      // 40 were spent (taken from the other points), 60 expired (not taken again).
      const res = await k.post(`/v1/operations/${e.operation.id}/reverse`, undefined);
      expect(res).toMatchObject({ operation: { amount: 40 }, alreadyExpired: 60, forgiven: 0, balance: { available: 10 } });
      await k.verify();
    });
  });

  describe('restore', () => {
    it('gives a spend back to the lots it consumed, with their expiry, partly and then the rest', async () => {
      const m = await t.member();
      const soon = (await earn(m.id, { amount: 30, expiresAt: iso(plus(now(), 5 * DAY)) })).lot;
      const never = (await earn(m.id, { amount: 100 })).lot;
      const s = await spend(m.id, 50);
      await k.rejects(`/v1/operations/${s.operation.id}/restore`, { amount: 51 }, 422, 'restore_exceeds_spend');
      // Latest-expiring consumption is given back first.
      await k.post(`/v1/operations/${s.operation.id}/restore`, { amount: 20 });
      expect((await k.lots(m.id)).map((l) => [l.id, l.remaining, l.expiresAt])).toEqual([[never.id, 100, null]]);
      const rest = await k.post(`/v1/operations/${s.operation.id}/restore`, undefined);
      expect(rest.operation).toMatchObject({ kind: 'restore', amount: 30, targetOperationId: s.operation.id });
      expect((await k.lots(m.id)).map((l) => [l.id, l.remaining, l.expiresAt])).toEqual([[soon.id, 30, soon.expiresAt], [never.id, 100, null]]);
      expect(await k.balance(m.id)).toMatchObject({ available: 130, lifetime: { spent: 50, restored: 50 } });
      await k.rejects(`/v1/operations/${s.operation.id}/restore`, undefined, 422, 'restore_exceeds_spend');
    });

    it('gives back a posted reservation', async () => {
      const m = await t.member();
      await earn(m.id, { amount: 100 });
      const { reservation } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 60 });
      const posted = await k.post(`/v1/reservations/${reservation.id}/post`, { amount: 50 }, 200);
      await k.rejects(`/v1/operations/${posted.operation.id}/restore`, { amount: 51 }, 422, 'restore_exceeds_spend');
      expect((await k.post(`/v1/operations/${posted.operation.id}/restore`, undefined)).balance.available).toBe(100);
      await k.rejects(`/v1/operations/${reservation.operationId}/restore`, undefined, 422, 'not_a_spend');
      await k.verify();
    });

    it('points given back to an expired lot expire again at once', async () => {
      const m = await t.member();
      await earn(m.id, { amount: 100, expiresAt: iso(plus(now(), DAY)) });
      await earn(m.id, { amount: 20 });
      const s = await spend(m.id, 110);
      t.clock.advance(DAY);
      const res = await k.post(`/v1/operations/${s.operation.id}/restore`, undefined);
      expect(res.balance.available).toBe(20);
      expect(await k.balance(m.id)).toMatchObject({ lifetime: { restored: 110, expired: 100 } });
      expect((await k.entries(m.id, '?limit=2')).data.map((e: any) => e.kind)).toEqual(['expire', 'restore']);
      await k.verify();
    });

    it('refuses what is not a spend', async () => {
      const m = await t.member();
      const e = await earn(m.id, { amount: 10 });
      await k.rejects(`/v1/operations/${e.operation.id}/restore`, undefined, 422, 'not_a_spend');
    });
  });

  describe('adjust', () => {
    it('needs a reason, adds or removes points, never below zero, and is audited', async () => {
      const m = await t.member();
      await k.rejects(`/v1/members/${m.id}/adjustments`, { amount: 50 }, 400, 'validation_failed');
      const added = await k.post(`/v1/members/${m.id}/adjustments`, { amount: 50, reason: 'goodwill for late parcel' });
      expect(added.operation).toMatchObject({ kind: 'adjust', amount: 50, reason: 'goodwill for late parcel' });
      expect((await k.entries(m.id)).data[0]).toMatchObject({ kind: 'adjust', from: 'program:adjusted', to: 'member:available' });
      await k.rejects(`/v1/members/${m.id}/adjustments`, { amount: -51, reason: 'too much' }, 422, 'insufficient_points');
      expect((await k.post(`/v1/members/${m.id}/adjustments`, { amount: -20, reason: 'duplicate credit' })).balance.available).toBe(30);
      expect(await k.balance(m.id)).toMatchObject({ lifetime: { adjustedIn: 50, adjustedOut: 20 } });
      const audit = await t.call('GET', '/v1/audit-events?limit=2');
      expect(audit.body.data.map((a: any) => [a.action, a.subjectId, a.details.amount, a.details.reason])).toEqual([
        ['points.adjusted', m.id, -20, 'duplicate credit'],
        ['points.adjusted', m.id, 50, 'goodwill for late parcel'],
      ]);
    });
  });

  describe('transfer', () => {
    it('moves points atomically; the receiver’s lots keep their expiry', async () => {
      const [a, b] = [await t.member(), await t.member()];
      const lot = (await earn(a.id, { amount: 100, expiresAt: iso(plus(now(), 9 * DAY)) })).lot;
      const res = await k.post('/v1/transfers', { fromMemberId: a.id, toMemberId: b.id, amount: 60 });
      expect(res.from).toMatchObject({ available: 40 });
      expect(res.to).toMatchObject({ available: 60 });
      expect((await k.lots(b.id)).map((l) => [l.amount, l.expiresAt])).toEqual([[60, lot.expiresAt]]);
      expect(await k.balance(a.id)).toMatchObject({ lifetime: { transferredOut: 60 } });
      expect(await k.balance(b.id)).toMatchObject({ lifetime: { transferredIn: 60 } });
      await k.rejects('/v1/transfers', { fromMemberId: a.id, toMemberId: b.id, amount: 41 }, 422, 'insufficient_points');
      await k.rejects('/v1/transfers', { fromMemberId: a.id, toMemberId: a.id, amount: 1 }, 422, 'transfer_to_self');
      await k.verify();
    });

    it('refuses a blocked member on either side', async () => {
      const [a, b, c] = [await t.member(), await t.member(), await t.member()];
      await earn(a.id, { amount: 10 });
      await earn(c.id, { amount: 10 });
      await k.block(b.id);
      await k.rejects('/v1/transfers', { fromMemberId: a.id, toMemberId: b.id, amount: 1 }, 409, 'member_blocked');
      await k.block(c.id);
      await k.rejects('/v1/transfers', { fromMemberId: c.id, toMemberId: a.id, amount: 1 }, 409, 'member_blocked');
    });
  });

  describe('reads', () => {
    it('balances show every wallet (the default points wallet first, then by creation): available, pending, reserved, lifetime totals and next expirations', async () => {
      const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points' }, { code: 'cashback', name: 'Cashback', unit: 'currency', expiry: { kind: 'days_after_earn', count: 365 } }] });
      const m = await t.member({}, p);
      await k.post(`/v1/members/${m.id}/earn`, { amount: 500, wallet: 'cashback', pendingUntil: null }, 201, p);
      await k.post(`/v1/members/${m.id}/earn`, { amount: 80, pendingUntil: null }, 201, p);
      await k.post(`/v1/members/${m.id}/earn`, { amount: 20, pendingUntil: iso(plus(now(), DAY)) }, 201, p);
      await k.post(`/v1/members/${m.id}/reservations`, { amount: 30 }, 201, p);
      await k.post(`/v1/members/${m.id}/spend`, { amount: 200, wallet: 'cashback' }, 201, p);
      await k.rejects(`/v1/members/${m.id}/spend`, { amount: 51 }, 422, 'insufficient_points', { program: p });
      const all = await t.call('GET', `/v1/members/${m.id}/balances`, { key: p.key });
      expect(all.body.data).toEqual([
        {
          wallet: 'points', unit: 'points', available: 50, pending: 20, reserved: 30,
          lifetime: { earned: 100, spent: 0, expired: 0, reversed: 0, restored: 0, adjustedIn: 0, adjustedOut: 0, transferredIn: 0, transferredOut: 0 },
          nextExpirations: [], lastActivityAt: iso(now()),
        },
        {
          wallet: 'cashback', unit: 'currency', available: 300, pending: 0, reserved: 0,
          lifetime: { earned: 500, spent: 200, expired: 0, reversed: 0, restored: 0, adjustedIn: 0, adjustedOut: 0, transferredIn: 0, transferredOut: 0 },
          nextExpirations: [{ amount: 300, expiresAt: iso(plus(now(), 365 * DAY)) }], lastActivityAt: iso(now()),
        },
      ]);
      expect((await t.call('GET', `/v1/members/${m.id}/balances/nope`, { key: p.key })).body.code).toBe('wallet_not_found');
    });

    it('history pages through entries newest first with a cursor; lots can include empty ones', async () => {
      const m = await t.member();
      for (const amount of [1, 2, 3, 4, 5]) await earn(m.id, { amount });
      await spend(m.id, 1);
      const seen: number[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const page: any = await k.entries(m.id, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.data.map((e: any) => e.amount * (e.availableDelta < 0 ? -1 : 1)));
        cursor = page.nextCursor;
      }
      expect(seen).toEqual([-1, 5, 4, 3, 2, 1]);
      expect((await k.lots(m.id)).map((l) => l.amount)).toEqual([2, 3, 4, 5]);
      expect((await k.lots(m.id, '?includeEmpty=true')).map((l) => l.remaining)).toEqual([0, 2, 3, 4, 5]);
      expect((await t.call('GET', `/v1/members/${m.id}/entries?cursor=abc`)).body.code).toBe('validation_failed');
    });
  });

  describe('settlement of due work', () => {
    it('applies due timeouts, vestings and expiries in time order, however late the wallet is read', async () => {
      const p = await t.newProgram({ reversalPolicy: 'allow_negative' });
      const start = now();
      // Two members with the same history; one is read at every due time, the other only at the end.
      const setUp = async () => {
        const m = await t.member({}, p);
        const x = await k.post(`/v1/members/${m.id}/earn`, { amount: 50, pendingUntil: null, expiresAt: iso(plus(start, 3 * DAY)) }, 201, p);
        await k.post(`/v1/members/${m.id}/reservations`, { amount: 50, timeoutMs: 3_600_000 }, 201, p);
        const e = await k.post(`/v1/members/${m.id}/earn`, { amount: 40, pendingUntil: null }, 201, p);
        await k.post(`/v1/members/${m.id}/spend`, { amount: 40 }, 201, p);
        await k.post(`/v1/operations/${e.operation.id}/reverse`, undefined, 201, p);
        const pending = await k.post(`/v1/members/${m.id}/earn`, { amount: 60, pendingUntil: iso(plus(start, 7_200_000)) }, 201, p);
        expect(await k.balance(m.id, 'points', p)).toMatchObject({ available: -40, pending: 60, reserved: 50 });
        return { m, x: x.lot.id, p: pending.lot.id };
      };
      const eager = await setUp();
      const lazy = await setUp();
      t.clock.set(plus(start, 3_600_000)); // the reservation times out: its 50 points settle the debt of 40 first
      await k.balance(eager.m.id, 'points', p);
      t.clock.set(plus(start, 7_200_000)); // the pending 60 vest, with no debt left to settle
      for (const { m, x, p: vested } of [eager, lazy]) {
        expect(await k.balance(m.id, 'points', p)).toMatchObject({ available: 70, pending: 0, reserved: 0 });
        expect((await k.lots(m.id, '', p)).map((l) => [l.id, l.remaining])).toEqual([[x, 10], [vested, 60]]);
      }
      t.clock.set(plus(start, 3 * DAY));
      for (const { m } of [eager, lazy]) expect(await k.balance(m.id, 'points', p)).toMatchObject({ available: 60, lifetime: { expired: 10 } });
      await k.verify(p);
    });
  });

  describe('wallets', () => {
    it('an unknown wallet is refused with unknown_wallet on every mutation that names one', async () => {
      const [a, b] = [await t.member(), await t.member()];
      await earn(a.id, { amount: 10 });
      for (const [url, body] of [
        [`/v1/members/${a.id}/earn`, { amount: 1, wallet: 'miles' }],
        [`/v1/members/${a.id}/spend`, { amount: 1, wallet: 'miles' }],
        [`/v1/members/${a.id}/reservations`, { amount: 1, wallet: 'miles' }],
        [`/v1/members/${a.id}/adjustments`, { amount: 1, wallet: 'miles', reason: 'test' }],
        ['/v1/transfers', { fromMemberId: a.id, toMemberId: b.id, amount: 1, wallet: 'miles' }],
      ] as const) {
        await k.rejects(url, body, 422, 'unknown_wallet');
      }
    });

    it('a second wallet keeps its own balance', async () => {
      const p = await t.newProgram({ wallets: [{ code: 'points', name: 'Points' }, { code: 'cashback', name: 'Cashback', unit: 'currency' }] });
      const m = await t.member({}, p);
      await k.post(`/v1/members/${m.id}/earn`, { amount: 250, wallet: 'cashback', pendingUntil: null }, 201, p);
      await k.rejects(`/v1/members/${m.id}/spend`, { amount: 1 }, 422, 'insufficient_points', { program: p });
      expect((await k.post(`/v1/members/${m.id}/spend`, { amount: 100, wallet: 'cashback' }, 201, p)).balance).toEqual({ wallet: 'cashback', available: 150, pending: 0, reserved: 0 });
      expect((await k.entries(m.id, '?wallet=points', p)).data).toEqual([]);
      await k.verify(p);
    });
  });

  it('a blocked member can neither earn, spend, reserve nor post', async () => {
    const m = await t.member();
    await earn(m.id, { amount: 50 });
    const { reservation } = await k.post(`/v1/members/${m.id}/reservations`, { amount: 10 });
    await k.block(m.id);
    await k.rejects(`/v1/members/${m.id}/earn`, { amount: 1 }, 409, 'member_blocked');
    await k.rejects(`/v1/members/${m.id}/spend`, { amount: 1 }, 409, 'member_blocked');
    await k.rejects(`/v1/members/${m.id}/reservations`, { amount: 1 }, 409, 'member_blocked');
    await k.rejects(`/v1/reservations/${reservation.id}/post`, undefined, 409, 'member_blocked');
    // Giving points back and admin corrections still work.
    expect((await k.post(`/v1/reservations/${reservation.id}/void`, undefined, 200)).balance.available).toBe(50);
    expect((await k.post(`/v1/members/${m.id}/adjustments`, { amount: -5, reason: 'fraud review' })).balance.available).toBe(45);
  });
});
