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
  it('creates an order, pays it, then fulfils it, per client, then starts another', () => {
    const w = orderLifecycle('run');
    // Two clients interleaved: each follows its own order.
    const a = [body(w, 0, 0), body(w, 0, 1)];
    const b = [body(w, 1, 0)];
    a.push(body(w, 0, 2));
    b.push(body(w, 1, 1), body(w, 1, 2));
    for (const events of [a, b]) {
      expect(events.map((e) => e.type)).toEqual(['created', 'paid', 'fulfilled']);
      expect(new Set(events.map((e) => e.orderId)).size).toBe(1);
      // Every event describes the order as its first did: changes of status, not of content.
      expect(events.every((e) => JSON.stringify(e.order) === JSON.stringify(events[0]!.order))).toBe(true);
    }
    expect(a[0]!.orderId).not.toBe(b[0]!.orderId);
    const next = body(w, 0, 3);
    expect(next.type).toBe('created');
    expect(next.orderId).not.toBe(a[0]!.orderId);
  });

  it('opens a new order when a phase starts again with one left open', () => {
    const w = orderLifecycle('run');
    const first = body(w, 3, 0);
    expect(body(w, 3, 1).type).toBe('paid');
    // A new phase counts from 0 again: its first request opens another order.
    const again = body(w, 3, 0);
    expect(again.type).toBe('created');
    expect(again.orderId).not.toBe(first.orderId);
    expect(body(w, 3, 1).orderId).toBe(again.orderId);
  });
});
