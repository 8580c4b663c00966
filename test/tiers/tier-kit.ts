import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestContext, TestProgram } from '../helpers.ts';

/** Sephora-style: three tiers on yearly net spend, $350 and $1,000. */
export const SEPHORA = {
  window: { kind: 'calendar_year' },
  tiers: [
    { code: 'insider', name: 'Insider', thresholds: { net_spend: 0 } },
    { code: 'vib', name: 'VIB', thresholds: { net_spend: 35_000 }, benefits: { earnMultiplierBp: 15_000, freeShipping: true, entryReward: { points: 500 } } },
    { code: 'rouge', name: 'Rouge', thresholds: { net_spend: 100_000 }, benefits: { earnMultiplierBp: 20_000, freeShipping: true, earlyAccess: true, discountBp: 1_000 } },
  ],
};

export function ladder(overrides: Record<string, unknown> = {}) {
  return { ...SEPHORA, ...overrides };
}

export async function putLadder(t: TestContext, body: unknown, program?: TestProgram) {
  const res = await t.call('PUT', '/v1/tiers', { body, key: program?.key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function activity(
  t: TestContext, memberId: string, amounts: Record<string, number>,
  options: { occurredAt?: string; source?: { type: string; id: string }; program?: TestProgram; expectStatus?: number } = {},
) {
  const res = await t.call('POST', `/v1/members/${memberId}/tier/activity`, {
    body: { amounts, source: options.source ?? { type: 'order.paid', id: randomUUID() }, ...(options.occurredAt ? { occurredAt: options.occurredAt } : {}) },
    key: options.program?.key,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(options.expectStatus ?? 201);
  return res.body;
}

export async function state(t: TestContext, memberId: string, program?: TestProgram) {
  const res = await t.call('GET', `/v1/members/${memberId}/tier`, { key: program?.key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function tierOf(t: TestContext, memberId: string, program?: TestProgram): Promise<string | null> {
  return (await state(t, memberId, program)).tier?.code ?? null;
}

export async function review(t: TestContext, program?: TestProgram) {
  const res = await t.call('POST', '/v1/tiers/review', { key: program?.key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export async function history(t: TestContext, memberId: string, program?: TestProgram) {
  const res = await t.call('GET', `/v1/members/${memberId}/tier/history?limit=200`, { key: program?.key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data as { from: string | null; to: string | null; direction: string; reason: string; at: string }[];
}

export async function events(t: TestContext, programId: string, type: string, memberId?: string) {
  let q = t.db.db.selectFrom('events').selectAll().where('program_id', '=', programId).where('type', '=', type);
  if (memberId) q = q.where('member_id', '=', memberId);
  return q.orderBy('id').execute();
}
