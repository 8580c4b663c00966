import { expect } from 'vitest';
import type { OrderLineDetails } from '../../src/orders/order-state.ts';
import type { TestContext } from '../helpers.ts';

/** An order line as the API takes it. */
export type Line = OrderLineDetails;

export function orderBody(lines: Line[], extra: Record<string, unknown> = {}) {
  return { currency: 'USD', lines, ...extra };
}

/** Sends an order event (no Idempotency-Key: the event id is the key); returns the response. */
export async function sendEvent(t: TestContext, body: Record<string, unknown>, key?: string) {
  return t.call('POST', '/v1/orders/events', { body, idempotencyKey: key ?? false });
}

export async function sendOk(t: TestContext, body: Record<string, unknown>) {
  const res = await sendEvent(t, body);
  if (res.status !== 201 && res.status !== 200) throw new Error(`order event failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.order;
}

export async function createRule(t: TestContext, kind: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const res = await t.call('POST', '/v1/rules', { body: { kind, name: `${kind} rule`, config, ...extra } });
  if (res.status !== 201) throw new Error(`rule creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function balance(t: TestContext, memberId: string, wallet = 'points') {
  const res = await t.call('GET', `/v1/members/${memberId}/balances/${wallet}`);
  expect(res.status).toBe(200);
  return res.body as { available: number; pending: number; reserved: number; lifetime: { earned: number; reversed: number; restored: number; spent: number } };
}

export async function expectLedgerOk(t: TestContext, key?: string) {
  const res = await t.call('GET', '/v1/ledger/verify', key ? { key } : {});
  expect(res.status).toBe(200);
  const failed = res.body.checks.filter((c: { ok: boolean }) => !c.ok);
  expect(failed).toEqual([]);
  expect(res.body.ok).toBe(true);
}

let counter = 0;
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
