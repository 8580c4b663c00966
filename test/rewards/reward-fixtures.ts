import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestContext, TestProgram } from '../helpers.ts';

/** Creates a reward through the API; fails the test on anything but 201. */
export async function createReward(t: TestContext, body: Record<string, unknown>, program?: TestProgram) {
  const res = await t.call('POST', '/v1/rewards', { body: { name: 'Reward', ...body }, key: program?.key });
  if (res.status !== 201) throw new Error(`reward creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function available(t: TestContext, memberId: string, wallet = 'points', program?: TestProgram): Promise<number> {
  const res = await t.call('GET', `/v1/members/${memberId}/balances/${wallet}`, { key: program?.key });
  expect(res.status).toBe(200);
  return res.body.available;
}

export async function stockOf(t: TestContext, rewardId: string): Promise<number | null> {
  const res = await t.call('GET', `/v1/rewards/${rewardId}`);
  expect(res.status).toBe(200);
  return res.body.stock?.remaining ?? null;
}

export function redeem(t: TestContext, memberId: string, rewardId: string, extra: Record<string, unknown> = {}, idempotencyKey: string = randomUUID()) {
  return t.call('POST', `/v1/members/${memberId}/redemptions`, { body: { rewardId, ...extra }, idempotencyKey });
}

export async function redeemOk(t: TestContext, memberId: string, rewardId: string, extra: Record<string, unknown> = {}) {
  const res = await redeem(t, memberId, rewardId, extra);
  if (res.status !== 201) throw new Error(`redemption failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function expectLedgerOk(t: TestContext, program?: TestProgram) {
  const res = await t.call('GET', '/v1/ledger/verify', { key: program?.key });
  expect(res.status).toBe(200);
  expect(res.body.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
  expect(res.body.ok).toBe(true);
}

/** A member with `points` vested points. */
export async function memberWith(t: TestContext, points: number, program?: TestProgram) {
  const m = await t.member({}, program);
  if (points > 0) await t.earn(m.id, points, {}, program);
  return m;
}
