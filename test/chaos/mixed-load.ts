import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/database.ts';
import type { HttpClient } from '../../bench/lib/http-client.ts';
import { check, operationsOf, type Journal, type Summary, type Tracked } from './harness.ts';

interface OpenOrder {
  id: string;
  memberId: string;
  quantity: number;
}

/** After a request the server could not answer: wait, as a real client would. */
const backOff = () => new Promise((r) => setTimeout(r, 1_000));

/**
 * A mixed ledger workload (earn, spend, reserve → post or void, reverse, restore, order created
 * → paid → fulfilled or paid at once → refunded, reward redemption → cancellation), each request
 * tracked in a journal, and the checks
 * that every acknowledged request had its effect exactly once. Balance reads run beside them
 * (group reads, shared by concurrent readers): each must show at least every earn of its member
 * acknowledged before the read was sent.
 */
export class MixedLoad {
  private earns: { id: string; amount: number }[] = [];
  private spends: { id: string; amount: number }[] = [];
  private reservations: string[] = [];
  private redemptions: string[] = [];
  private orders: { id: string; total: number; refunded: boolean }[] = [];
  /** Orders acknowledged as created, awaiting their payment; then paid, awaiting their fulfilment. */
  private created: OpenOrder[] = [];
  private fulfillable: OpenOrder[] = [];
  private stopped = false;
  /** Per member, the points of its earns acknowledged so far: a floor for its lifetime earned. */
  private readonly acknowledgedEarned = new Map<string, number>();

  constructor(
    private readonly journal: Journal,
    private readonly summary: Summary,
    private readonly world: { client: () => HttpClient; members: string[]; rewardId?: string; orders: boolean; seedOperations?: string[] },
  ) {}

  private member() {
    return this.world.members[Math.floor(Math.random() * this.world.members.length)]!;
  }

  private take<T>(list: T[]): T | undefined {
    if (list.length === 0) return undefined;
    return list.splice(Math.floor(Math.random() * list.length), 1)[0];
  }

  /** Builds the next request from what is known to exist (acknowledged effects only). */
  private next(): { entry: Tracked; onOk?: (body: any) => void } {
    const r = Math.random();
    const amount = (max: number) => 1 + Math.floor(Math.random() * max);
    const j = this.journal;
    if (r < 0.1 && this.reservations.length > 0) {
      const id = this.take(this.reservations)!;
      const post = Math.random() < 0.7;
      return { entry: j.track(post ? 'post' : 'void', { method: 'POST', path: `/v1/reservations/${id}/${post ? 'post' : 'void'}` }), onOk: (b) => post && this.spends.push({ id: b.operation.id, amount: b.operation.amount }) };
    }
    if (r < 0.2 && this.earns.length > 0) {
      const earn = this.take(this.earns)!;
      return { entry: j.track('reverse', { method: 'POST', path: `/v1/operations/${earn.id}/reverse`, body: { amount: Math.max(1, Math.floor(earn.amount / 2)) } }) };
    }
    if (r < 0.28 && this.spends.length > 0) {
      const spend = this.take(this.spends)!;
      return { entry: j.track('restore', { method: 'POST', path: `/v1/operations/${spend.id}/restore`, body: { amount: amount(spend.amount) } }) };
    }
    if (r < 0.36 && this.world.orders) {
      // An order's later events describe it as its first did (as shops' webhooks send them): grouped.
      const describe = (o: OpenOrder, type: 'created' | 'paid' | 'fulfilled') => ({
        orderId: o.id, eventId: type, type, occurredAt: new Date().toISOString(),
        order: { currency: 'USD', customer: { memberId: o.memberId }, lines: [{ id: 'l1', quantity: o.quantity, unitPriceMinor: 2599 }] },
      });
      const paid = (o: OpenOrder) => {
        this.orders.push({ id: o.id, total: o.quantity * 2599, refunded: false });
        this.paidOrders.add(o.id);
        this.fulfillable.push(o);
      };
      if (this.created.length > 0 && Math.random() < 0.5) {
        const order = this.take(this.created)!;
        return { entry: j.track('order paid', { method: 'POST', path: '/v1/orders/events', body: describe(order, 'paid') }, null), onOk: () => paid(order) };
      }
      if (this.fulfillable.length > 0 && Math.random() < 0.3) {
        const order = this.take(this.fulfillable)!;
        return { entry: j.track('order fulfilled', { method: 'POST', path: '/v1/orders/events', body: describe(order, 'fulfilled') }, null), onOk: () => this.fulfilledOrders.add(order.id) };
      }
      if (Math.random() < 0.4) {
        const order = { id: `chaos-${randomUUID()}`, memberId: this.member(), quantity: amount(3) };
        return { entry: j.track('order created', { method: 'POST', path: '/v1/orders/events', body: describe(order, 'created') }, null), onOk: () => this.created.push(order) };
      }
      if (this.orders.length > 0 && Math.random() < 0.4) {
        const order = this.take(this.orders)!;
        return {
          entry: j.track('order refunded', {
            method: 'POST', path: '/v1/orders/events',
            body: { orderId: order.id, eventId: 'refund-1', type: 'refunded', occurredAt: new Date().toISOString(), refund: { full: true } },
          }),
          onOk: () => this.refundedOrders.add(order.id),
        };
      }
      const order = { id: `chaos-${randomUUID()}`, memberId: this.member(), quantity: amount(3) };
      // Sent as shops' webhooks send it, without an Idempotency-Key (its ids are its identity),
      // so new orders go through the order group commit.
      return { entry: j.track('order paid', { method: 'POST', path: '/v1/orders/events', body: describe(order, 'paid') }, null), onOk: () => paid(order) };
    }
    if (r < 0.42 && this.world.rewardId) {
      if (this.redemptions.length > 0 && Math.random() < 0.4) {
        const id = this.take(this.redemptions)!;
        return { entry: j.track('cancel redemption', { method: 'POST', path: `/v1/redemptions/${id}/cancel`, body: {} }), onOk: () => this.cancelled.add(id) };
      }
      return {
        entry: j.track('redeem', { method: 'POST', path: `/v1/members/${this.member()}/redemptions`, body: { rewardId: this.world.rewardId } }),
        onOk: (b) => this.redemptions.push(b.id),
      };
    }
    if (r < 0.55) {
      return { entry: j.track('spend', { method: 'POST', path: `/v1/members/${this.member()}/spend`, body: { amount: amount(30) } }), onOk: (b) => this.spends.push({ id: b.operation.id, amount: b.operation.amount }) };
    }
    if (r < 0.65) {
      return {
        entry: j.track('reserve', { method: 'POST', path: `/v1/members/${this.member()}/reservations`, body: { amount: amount(20), timeoutMs: 600_000 } }),
        onOk: (b) => this.reservations.push(b.reservation.id),
      };
    }
    const member = this.member();
    return {
      entry: j.track('earn', { method: 'POST', path: `/v1/members/${member}/earn`, body: { amount: amount(100), pendingUntil: null } }),
      onOk: (b) => {
        this.earns.push({ id: b.operation.id, amount: b.operation.amount });
        this.acknowledgedEarned.set(member, (this.acknowledgedEarned.get(member) ?? 0) + b.operation.amount);
      },
    };
  }

  readonly paidOrders = new Set<string>();
  readonly refundedOrders = new Set<string>();
  readonly fulfilledOrders = new Set<string>();
  readonly cancelled = new Set<string>();

  /** `workers` closed loops until stop(); a failed request is left open in the journal and the worker moves on. */
  async run(workers: number) {
    await Promise.all(Array.from({ length: workers }, async () => {
      while (!this.stopped) {
        if (Math.random() < 0.15) {
          await this.read();
          continue;
        }
        const { entry, onOk } = this.next();
        await this.journal.send(this.world.client(), entry);
        if (entry.response && entry.response.status < 300) onOk?.(entry.response.body);
        // Unanswered (server down or restarting): back off, as a real client would.
        if (!entry.response) await backOff();
      }
    }));
  }

  stop() {
    this.stopped = true;
  }

  /**
   * A balance read, untracked (it has no effect to check or replay): a 5xx other than 503 is
   * caught by the callers' per-phase checks, and an answer must count every earn of the member
   * acknowledged before it was sent — lifetime earned only grows (reversals count apart).
   */
  private async read() {
    const member = this.member();
    const floor = this.acknowledgedEarned.get(member) ?? 0;
    this.summary.requestsSent++;
    try {
      const res = await this.world.client().request({ method: 'GET', path: `/v1/members/${member}/balances/points`, timeoutMs: 15_000 });
      this.journal.observe(String(res.status));
      if (res.status === 200) {
        this.summary.acknowledged++;
        const earned = res.json().lifetime.earned as number;
        check(this.summary, earned >= floor, `a balance read of ${member} shows ${earned} points earned, fewer than the ${floor} acknowledged before it was sent`);
      }
      if (res.status >= 500) await backOff();
    } catch (error) {
      this.journal.observe((error as NodeJS.ErrnoException).code ?? 'network');
      await backOff();
    }
  }

  /** Callbacks of requests acknowledged only when retried (their dependants simply never ran). */
  settleCallbacks() {
    for (const e of this.journal.all) {
      if (e.response && e.response.status < 300 && e.label === 'order paid') this.paidOrders.add((e.request.body as { orderId: string }).orderId);
      if (e.response && e.response.status < 300 && e.label === 'order refunded') this.refundedOrders.add((e.request.body as { orderId: string }).orderId);
      if (e.response && e.response.status < 300 && e.label === 'order fulfilled') this.fulfilledOrders.add((e.request.body as { orderId: string }).orderId);
      if (e.response && e.response.status < 300 && e.label === 'cancel redemption') this.cancelled.add(e.request.path.split('/')[3]!);
    }
  }

  /**
   * Exactly once: each acknowledged success names its operation, which exists; every operation in
   * the program is accounted for by one acknowledged request (or is the system's own), so a
   * retried request never added a second effect.
   */
  async verifyEffects(db: Db, programId: string, client: HttpClient) {
    this.settleCallbacks();
    const ops = await operationsOf(db, programId);
    const byId = new Map(ops.map((o) => [o.id, o]));
    const named = new Map<string, string>((this.world.seedOperations ?? []).map((id) => [id, 'seed']));
    const name = (id: string | undefined | null, label: string) => {
      if (!id) return;
      check(this.summary, !named.has(id), `operation ${id} is named by two acknowledged requests (${named.get(id)} and ${label})`);
      named.set(id, label);
    };
    for (const e of this.journal.all) {
      if (!e.response || e.response.status >= 300) continue;
      const b = e.response.body;
      this.summary.effectsChecked++;
      switch (e.label) {
        case 'earn': case 'spend': case 'post': case 'void': case 'reverse': case 'restore':
          name(b.operation?.id, e.label);
          check(this.summary, byId.has(b.operation?.id), `${e.label} ${b.operation?.id} acknowledged but not in the ledger`);
          break;
        case 'reserve':
          name(b.reservation?.operationId, e.label);
          check(this.summary, byId.has(b.reservation?.operationId), `reservation ${b.reservation?.id} acknowledged but its operation is not in the ledger`);
          break;
        case 'redeem':
          if (b.spendOperationId) {
            name(b.spendOperationId, e.label);
            check(this.summary, byId.has(b.spendOperationId), `redemption ${b.id} acknowledged but its spend is not in the ledger`);
          }
          break;
      }
    }
    // Cancellations give the points back with one restore of the redemption's spend each.
    const redemptionSpends = new Map<string, string>();
    for (const e of this.journal.all) {
      if (e.label === 'redeem' && e.response && e.response.status < 300) redemptionSpends.set(e.response.body.id, e.response.body.spendOperationId);
    }
    const cancelTargets = new Set([...this.cancelled].map((id) => redemptionSpends.get(id)).filter(Boolean) as string[]);
    for (const target of cancelTargets) {
      const restores = ops.filter((o) => o.kind === 'restore' && o.target_operation_id === target && !named.has(o.id));
      this.summary.effectsChecked++;
      check(this.summary, restores.length === 1, `cancelled redemption (spend ${target}) has ${restores.length} restores`);
      for (const r of restores) named.set(r.id, 'cancel redemption');
    }
    // Orders: the points each holds are what it is worth now, from one earn (and one reversal after a full refund).
    const orderIds = new Map<string, string>();
    for (const orderId of this.paidOrders) {
      const res = await client.request({ method: 'GET', path: `/v1/orders/lookup?orderId=${encodeURIComponent(orderId)}` });
      this.summary.effectsChecked++;
      if (res.status !== 200) {
        check(this.summary, false, `order ${orderId}: paid was acknowledged but the order is ${res.status}`);
        continue;
      }
      const order = res.json();
      orderIds.set(order.id, orderId);
      const own = ops.filter((o) => o.reference_type === 'order' && o.reference_id === order.id);
      const earned = own.filter((o) => o.kind === 'earn');
      const reversed = own.filter((o) => o.kind === 'reverse').reduce((s, o) => s + o.amount, 0);
      const held = Object.values(order.points.held as Record<string, number>).reduce((s, v) => s + v, 0);
      const expected = Object.values(order.points.expected as Record<string, number>).reduce((s, v) => s + v, 0);
      check(this.summary, earned.length === 1, `order ${orderId}: ${earned.length} earn operations`);
      check(this.summary, held === expected, `order ${orderId}: holds ${held} points, is worth ${expected}`);
      check(this.summary, earned.reduce((s, o) => s + o.amount, 0) - reversed === held, `order ${orderId}: ledger ${earned.reduce((s, o) => s + o.amount, 0)} − ${reversed} ≠ held ${held}`);
      if (this.refundedOrders.has(orderId)) check(this.summary, held === 0, `order ${orderId}: refunded in full but holds ${held}`);
      if (this.fulfilledOrders.has(orderId)) check(this.summary, order.fulfilledAt !== null, `order ${orderId}: fulfilment acknowledged but the order is ${order.status}, not fulfilled`);
      for (const o of own) named.set(o.id, 'order');
    }
    const unexplained = ops.filter((o) => !named.has(o.id) && o.kind !== 'expire_reservation');
    check(this.summary, unexplained.length === 0, `${unexplained.length} operations no acknowledged request accounts for (a duplicate effect): ${JSON.stringify(unexplained.slice(0, 3))}`);
  }
}
