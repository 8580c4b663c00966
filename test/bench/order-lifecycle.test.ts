import { describe, expect, it } from 'vitest';
import { orderLifecycle } from '../../bench/lib/workloads.ts';
import type { BenchProgram } from '../../bench/lib/fixtures.ts';

const program: BenchProgram = {
  id: 'p', key: 'k', walletId: 'w', issuedAccountId: 1,
  members: Array.from({ length: 50 }, (_, i) => ({ id: `m${i}`, availableAccountId: i + 2 })),
};
type Body = { orderId: string; eventId: string; type: string; order: { customer: { memberId: string }; lines: unknown[] } };
const body = (w: ReturnType<typeof orderLifecycle>, worker: number, n: number) => w.request(program, worker, n).body as Body;

describe('the order lifecycle workload', () => {
  it('creates an order, then pays that same order, per client', () => {
    const w = orderLifecycle('run');
    const created = [body(w, 0, 0), body(w, 1, 0)];
    const paid = [body(w, 1, 1), body(w, 0, 1)];
    expect(created.map((b) => b.type)).toEqual(['created', 'created']);
    expect(paid.map((b) => b.type)).toEqual(['paid', 'paid']);
    expect(paid[0]!.orderId).toBe(created[1]!.orderId);
    expect(paid[1]!.orderId).toBe(created[0]!.orderId);
    // The paid event describes the order as its first event did: a change of status, not of content.
    expect(paid[1]!.order).toEqual(created[0]!.order);
    expect(created[0]!.orderId).not.toBe(created[1]!.orderId);
    expect(body(w, 0, 2).orderId).not.toBe(created[0]!.orderId);
  });

  it('opens a new order when a phase starts again with an order left unpaid', () => {
    const w = orderLifecycle('run');
    const first = body(w, 3, 0);
    // A new phase counts from 0 again: its first request opens another order.
    const again = body(w, 3, 0);
    expect(again.type).toBe('created');
    expect(again.orderId).not.toBe(first.orderId);
    expect(body(w, 3, 1).orderId).toBe(again.orderId);
  });
});
