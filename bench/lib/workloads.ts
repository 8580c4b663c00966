import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchProgram } from './fixtures.ts';
import type { HttpClient, HttpRequest } from './http-client.ts';
import { closedLoop, type LoadResult } from './load.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One kind of request the load generator sends; `ok` is the status that counts as done. */
export interface Workload {
  name: string;
  description: string;
  ok: number;
  /** One-time setup through the API (e.g. an earning rule). */
  prepare?(client: HttpClient, program: BenchProgram): Promise<void>;
  request(program: BenchProgram, worker: number, n: number): HttpRequest;
}

const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;

export const directEarn: Workload = {
  name: 'earn',
  description: 'POST /v1/members/:id/earn (ledger earn, idempotent by key)',
  ok: 201,
  request: (program) => ({
    method: 'POST', path: `/v1/members/${pick(program.members).id}/earn`,
    headers: { 'idempotency-key': randomUUID() }, body: { amount: 1 + Math.floor(Math.random() * 100), pendingUntil: null },
  }),
};

/** The order-paid path: order event → earning rules → ledger earn. */
export function orderPaid(runId: string): Workload {
  return {
    name: 'order-paid',
    description: 'POST /v1/orders/events type "paid" (order → 1 point per $1 rule → ledger earn)',
    ok: 201,
    async prepare(client) {
      const rule = await client.request({
        method: 'POST', path: '/v1/rules', headers: { 'idempotency-key': randomUUID() },
        body: { kind: 'base_rate', name: 'Bench: 1 point per $1', config: { points: 1, perAmountMinor: 100 } },
      });
      if (rule.status !== 201) throw new Error(`could not create the bench earning rule: ${rule.status} ${rule.text}`);
    },
    request: (program, worker, n) => ({
      method: 'POST', path: '/v1/orders/events',
      body: {
        // A new order every time, across runs and warm-up (a reused id with other content is a 409).
        orderId: `bench-${runId}-${worker}-${randomUUID()}`, eventId: 'paid', type: 'paid', occurredAt: new Date().toISOString(),
        order: {
          currency: 'USD', customer: { memberId: pick(program.members).id },
          lines: [{ id: 'l1', sku: 'SKU-1', quantity: 1 + (n % 3), unitPriceMinor: 1999 }, { id: 'l2', sku: 'SKU-2', quantity: 1, unitPriceMinor: 4500 }],
        },
      },
    }),
  };
}

/**
 * The order flow most shops send: each client creates an order, pays it, then fulfils it (three
 * events of one order, one after the other, the same description each time). The first is a new
 * order, group-committed as in orderPaid; the payment is the order's first settlement and the
 * fulfilment changes nothing in the ledger (points vest from payment), both grouped too
 * (docs/architecture.md, "Group commit"). Counts every event.
 */
export function orderLifecycle(runId: string): Workload {
  const STEPS = ['created', 'paid', 'fulfilled'] as const;
  const open = new Map<number, { orderId: string; memberId: string; quantity: number; next: number }>();
  return {
    name: 'order-lifecycle',
    description: 'POST /v1/orders/events "created", then "paid", then "fulfilled" for the same order (a new order, then changes to it)',
    ok: 201,
    request(program, worker, n) {
      // A phase starts counting from 0 again: its first request opens a new order.
      let order = open.get(worker);
      if (n === 0 || !order) {
        order = { orderId: `bench-life-${runId}-${worker}-${randomUUID()}`, memberId: pick(program.members).id, quantity: 1 + (n % 3), next: 0 };
        open.set(worker, order);
      }
      const type = STEPS[order.next]!;
      if (++order.next === STEPS.length) open.delete(worker);
      return {
        method: 'POST', path: '/v1/orders/events',
        body: {
          orderId: order.orderId, eventId: type, type, occurredAt: new Date().toISOString(),
          order: {
            currency: 'USD', customer: { memberId: order.memberId },
            lines: [{ id: 'l1', sku: 'SKU-1', quantity: order.quantity, unitPriceMinor: 1999 }, { id: 'l2', sku: 'SKU-2', quantity: 1, unitPriceMinor: 4500 }],
          },
        },
      };
    },
  };
}

export const balanceRead: Workload = {
  name: 'balance-read',
  description: 'GET /v1/members/:id/balances/points',
  ok: 200,
  request: (program) => ({ method: 'GET', path: `/v1/members/${pick(program.members).id}/balances/points` }),
};

/** The floor of any read: one HTTP round trip and one trivial query (`select 1`), on the same server. */
export const healthRead: Workload = {
  name: 'health',
  description: 'GET /health (HTTP + select 1): the reference for reads',
  ok: 200,
  request: () => ({ method: 'GET', path: '/health' }),
};

/** The order-paid path when the orders module is there, else the direct earn. */
export function earnWorkload(runId: string): Workload {
  return existsSync(path.join(ROOT, 'src/orders/order-routes.ts')) ? orderPaid(runId) : directEarn;
}

/** A workload by its name, for a load generator in a process of its own (bench/load-generator.ts). */
export function workloadNamed(name: string, runId: string): Workload {
  const all = [directEarn, orderPaid(runId), orderLifecycle(runId), balanceRead, healthRead];
  const found = all.find((w) => w.name === name);
  if (!found) throw new Error(`no workload named ${name}`);
  return found;
}

export async function runWorkload(client: HttpClient, program: BenchProgram, workload: Workload, options: { concurrency: number; durationMs: number }): Promise<LoadResult> {
  return closedLoop({
    ...options,
    work: async (worker, n) => {
      const response = await client.request({ ...workload.request(program, worker, n), timeoutMs: 30_000 });
      return { ok: response.status === workload.ok, status: String(response.status) };
    },
  });
}

/**
 * A connection of the raw ceiling. With `waitForFlush: false` its commits return before their WAL
 * is on disk (`synchronous_commit = off` for this session only): a reference for how much of the
 * ceiling is the wait for the flush, which is all that grouping commits can save a write shaped
 * like this one. Never Laurel's setting (docs/operations.md).
 */
export async function rawClient(url: string, options: { waitForFlush: boolean }): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  if (!options.waitForFlush) await c.query('set synchronous_commit = off');
  return c;
}

/**
 * The raw PostgreSQL ceiling of the same ledger write: per event one transaction that inserts an
 * entry and adds to the member's cached balance — what an earn must at least do — over
 * `concurrency` connections, on the same server with the same settings, in its own program.
 */
export async function rawLedgerWrites(
  url: string, program: BenchProgram, options: { concurrency: number; durationMs: number; waitForFlush?: boolean },
): Promise<LoadResult> {
  const clients = await Promise.all(Array.from({ length: options.concurrency }, () => rawClient(url, { waitForFlush: options.waitForFlush ?? true })));
  try {
    return await closedLoop({
      concurrency: options.concurrency, durationMs: options.durationMs,
      work: async (worker) => {
        const c = clients[worker]!;
        const member = pick(program.members);
        const amount = 1 + Math.floor(Math.random() * 100);
        await c.query('begin');
        // Prepared, as Laurel's statements are: the ceiling is the best this server can do.
        await c.query({
          name: 'raw_entry',
          text: `insert into entries (program_id, wallet_id, member_id, operation_id, kind, amount, debit_account_id, credit_account_id, created_at)
                 values ($1, $2, $3, null, 'earn', $4, $5, $6, now())`,
          values: [program.id, program.walletId, member.id, amount, program.issuedAccountId, member.availableAccountId],
        });
        await c.query({ name: 'raw_balance', text: 'update accounts set balance = balance + $1 where id = $2', values: [amount, member.availableAccountId] });
        await c.query('commit');
        return { ok: true, status: 'committed' };
      },
    });
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}
