import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inTransaction } from '../../src/idempotency/run-idempotent.ts';
import { grantReward } from '../../src/rewards/redemption-operations.ts';
import { setupTestApp } from '../helpers.ts';
import { available, createReward, expectLedgerOk, memberWith, redeem, redeemOk, stockOf } from './reward-fixtures.ts';

describe('redemption', async () => {
  const t = await setupTestApp({ program: { wallets: [{ code: 'points', name: 'Points' }, { code: 'cashback', name: 'Cashback', unit: 'currency' }] } });

  it('redeems a fixed-amount reward: points spent, voucher issued, one transaction', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', name: '$5 off', costPoints: 500, benefit: { amountOffMinor: 500 }, voucher: { validityDays: 60, codeFormat: { prefix: 'FIVE' } } });
    const m = await memberWith(t, 1200);
    const r = await redeemOk(t, m.id, reward.id);
    expect(r).toMatchObject({ status: 'completed', points: 500, reward: { id: reward.id, kind: 'fixed_amount' }, memberId: m.id });
    expect(r.voucher.code).toMatch(/^FIVE-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(r.voucher.status).toBe('issued');
    expect(new Date(r.voucher.expiresAt).getTime() - new Date(r.voucher.validFrom).getTime()).toBe(60 * 86_400_000);
    expect(await available(t, m.id)).toBe(700);
    const op = await t.call('GET', `/v1/operations/${r.spendOperationId}`);
    expect(op.body).toMatchObject({ kind: 'spend', amount: 500, reference: { type: 'reward', id: reward.id } });
    const events = await t.db.db.selectFrom('events').select(['type', 'payload']).where('program_id', '=', t.program.id).where('type', '=', 'reward.redeemed').execute();
    expect(events.map((e) => e.payload.redemptionId)).toContain(r.id);
    await expectLedgerOk(t);
  });

  it('is idempotent by key: a retry replays, nothing is spent twice', async () => {
    const reward = await createReward(t, { kind: 'free_shipping', costPoints: 300, stock: 5 });
    const m = await memberWith(t, 1000);
    const key = randomUUID();
    const first = await redeem(t, m.id, reward.id, {}, key);
    const again = await redeem(t, m.id, reward.id, {}, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await available(t, m.id)).toBe(700);
    expect(await stockOf(t, reward.id)).toBe(4);
    const reused = await redeem(t, m.id, reward.id, { note: 'different' }, key);
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
    const missing = await t.call('POST', `/v1/members/${m.id}/redemptions`, { body: { rewardId: reward.id }, idempotencyKey: false });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('idempotency_key_required');
  });

  it('100 concurrent redemptions of a reward with 10 in stock: exactly 10 succeed, 10 debits', async () => {
    const reward = await createReward(t, { kind: 'experience', name: 'Concert ticket', costPoints: 100, stock: 10, benefit: { location: 'Arena' } });
    const members = [];
    for (let i = 0; i < 100; i += 10) members.push(...(await Promise.all(Array.from({ length: 10 }, () => memberWith(t, 150)))));
    const results = await Promise.all(members.map((m) => redeem(t, m.id, reward.id)));
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(ok).toHaveLength(10);
    expect(refused.every((r) => r.status === 409 && r.body.code === 'reward_out_of_stock')).toBe(true);
    expect(await stockOf(t, reward.id)).toBe(0);
    const spends = await t.db.db.selectFrom('operations').select(['member_id', 'amount'])
      .where('program_id', '=', t.program.id).where('kind', '=', 'spend').where('reference_id', '=', reward.id).execute();
    expect(spends).toHaveLength(10);
    expect(new Set(spends.map((s) => s.member_id)).size).toBe(10);
    const winners = new Set(ok.map((r) => r.body.memberId));
    for (const m of members) expect(await available(t, m.id)).toBe(winners.has(m.id) ? 50 : 150);
    const codes = new Set(ok.map((r) => r.body.voucher.code));
    expect(codes.size).toBe(10);
    await expectLedgerOk(t);
  });

  it('concurrent redemptions by one member never overdraw the balance', async () => {
    const reward = await createReward(t, { kind: 'percentage', costPoints: 100, benefit: { percent: 10 } });
    const m = await memberWith(t, 550);
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(t, m.id, reward.id)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 422).every((r) => r.body.code === 'insufficient_points')).toBe(true);
    expect(await available(t, m.id)).toBe(50);
    await expectLedgerOk(t);
  });

  it('a per-member limit holds under concurrency', async () => {
    const reward = await createReward(t, { kind: 'free_shipping', costPoints: 10, limit: { count: 2, period: 'month' } });
    const m = await memberWith(t, 1000);
    const results = await Promise.all(Array.from({ length: 8 }, () => redeem(t, m.id, reward.id)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    const over = results.filter((r) => r.status !== 201);
    expect(over.every((r) => r.status === 409 && r.body.code === 'reward_limit_reached')).toBe(true);
    expect(over[0]!.body).toMatchObject({ limit: 2, period: 'month', used: 2 });
    expect(await available(t, m.id)).toBe(980);
  });

  it('store credit earns into another wallet in the same transaction', async () => {
    const reward = await createReward(t, { kind: 'store_credit', name: '$10 cashback', costPoints: 1000, benefit: { wallet: 'cashback', amount: 1000 } });
    const m = await memberWith(t, 1500);
    const r = await redeemOk(t, m.id, reward.id);
    expect(r.voucher).toBeNull();
    expect(r.details).toEqual({ credit: { wallet: 'cashback', amount: 1000 } });
    expect(await available(t, m.id)).toBe(500);
    expect(await available(t, m.id, 'cashback')).toBe(1000);
    const credit = await t.call('GET', `/v1/operations/${r.creditOperationId}`);
    expect(credit.body).toMatchObject({ kind: 'earn', wallet: 'cashback', amount: 1000, reference: { type: 'reward', id: reward.id } });
    const cancel = await t.call('POST', `/v1/redemptions/${r.id}/cancel`, { body: {} });
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe('redemption_not_cancellable');
    await expectLedgerOk(t);
  });

  it('donations keep running totals per cause', async () => {
    const trees = await createReward(t, { kind: 'donation', name: 'Plant trees', costPoints: 100, benefit: { cause: 'trees' } });
    const trees2 = await createReward(t, { kind: 'donation', name: 'Plant trees (campaign)', costPoints: 50, benefit: { cause: 'trees' } });
    const water = await createReward(t, { kind: 'donation', name: 'Clean water', costPoints: 10, benefit: { cause: 'water' } });
    const a = await memberWith(t, 2000);
    const b = await memberWith(t, 2000);
    const first = await redeemOk(t, a.id, trees.id, { points: 300 });
    expect(first.donation).toEqual({ cause: 'trees', points: 300, causeTotal: 300, causeDonations: 1 });
    await redeemOk(t, b.id, trees.id);
    await redeemOk(t, b.id, trees2.id, { points: 150 });
    await redeemOk(t, a.id, water.id, { points: 70 });
    const bad = await redeem(t, a.id, trees.id, { points: 150 });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'donation_amount_invalid', step: 100 });
    const totals = await t.call('GET', '/v1/donations');
    expect(totals.body.data).toEqual([
      expect.objectContaining({ cause: 'trees', points: 550, donations: 3, donors: 2 }),
      expect.objectContaining({ cause: 'water', points: 70, donations: 1, donors: 1 }),
    ]);
    expect(await available(t, a.id)).toBe(2000 - 300 - 70);
    expect(await available(t, b.id)).toBe(2000 - 100 - 150);
    const notDonation = await createReward(t, { kind: 'free_shipping', costPoints: 10 });
    expect((await redeem(t, a.id, notDonation.id, { points: 20 })).status).toBe(400);
  });

  it('custom rewards: requested → fulfilled, or cancelled with the points back', async () => {
    const repair = await createReward(t, { kind: 'custom', name: 'Jacket repair', costPoints: 400, stock: 3, benefit: { instructions: 'Book at the repair desk' } });
    const m = await memberWith(t, 1000);
    const r1 = await redeemOk(t, m.id, repair.id, { note: 'zip on the blue jacket' });
    expect(r1).toMatchObject({ status: 'requested', note: 'zip on the blue jacket', voucher: null });
    const done = await t.call('POST', `/v1/redemptions/${r1.id}/fulfil`, { body: { note: 'fixed' } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'fulfilled', details: { fulfilmentNote: 'fixed' } });
    expect((await t.call('POST', `/v1/redemptions/${r1.id}/cancel`)).body.code).toBe('redemption_not_cancellable');
    expect((await t.call('POST', `/v1/redemptions/${r1.id}/fulfil`)).body.code).toBe('redemption_not_requested');

    const r2 = await redeemOk(t, m.id, repair.id);
    expect(await available(t, m.id)).toBe(200);
    expect(await stockOf(t, repair.id)).toBe(1);
    const cancelled = await t.call('POST', `/v1/redemptions/${r2.id}/cancel`, { body: { reason: 'customer changed mind' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', refundedPoints: 400, details: { cancelReason: 'customer changed mind' } });
    expect(await available(t, m.id)).toBe(600);
    expect(await stockOf(t, repair.id)).toBe(2);
    await expectLedgerOk(t);
  });

  it('a free reward (cost 0) spends nothing but still counts against limit and stock', async () => {
    const gift = await createReward(t, { kind: 'free_product', costPoints: 0, stock: 2, limit: { count: 1, period: 'lifetime' }, benefit: { sku: 'STICKER' } });
    const m = await memberWith(t, 0);
    const r = await redeemOk(t, m.id, gift.id);
    expect(r).toMatchObject({ points: 0, spendOperationId: null });
    expect((await redeem(t, m.id, gift.id)).body.code).toBe('reward_limit_reached');
    expect(await stockOf(t, gift.id)).toBe(1);
  });

  it('grants a reward by code without charging points (a tier birthday gift)', async () => {
    const gift = await createReward(t, { kind: 'free_product', code: 'birthday-cake', costPoints: 900, stock: 3, benefit: { sku: 'CAKE' } });
    const m = await memberWith(t, 50);
    const granted = await inTransaction(t.db.db, async (trx) => {
      const program = await trx.selectFrom('programs').select(['id', 'time_zone', 'reversal_policy']).where('id', '=', t.program.id).executeTakeFirstOrThrow();
      return grantReward({ trx, program, now: new Date(), actor: 'system' }, { memberId: m.id, rewardCode: 'birthday-cake' });
    });
    expect(granted).toMatchObject({ points: 0, spendOperationId: null, voucher: { kind: 'free_product', status: 'issued' } });
    expect(await available(t, m.id)).toBe(50);
    expect(await stockOf(t, gift.id)).toBe(2);
  });

  it('lists a member’s redemptions and vouchers', async () => {
    const reward = await createReward(t, { kind: 'fixed_amount', costPoints: 10, benefit: { amountOffMinor: 100 } });
    const m = await memberWith(t, 100);
    const r1 = await redeemOk(t, m.id, reward.id);
    const r2 = await redeemOk(t, m.id, reward.id);
    const list = await t.call('GET', `/v1/members/${m.id}/redemptions`);
    expect(list.body.data.map((r: { id: string }) => r.id).sort()).toEqual([r1.id, r2.id].sort());
    const vouchers = await t.call('GET', `/v1/members/${m.id}/vouchers?status=issued`);
    expect(vouchers.body.data).toHaveLength(2);
    const one = await t.call('GET', `/v1/redemptions/${r1.id}`);
    expect(one.body.voucher.code).toBe(r1.voucher.code);
  });
});
