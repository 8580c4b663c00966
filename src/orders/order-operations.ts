import { releaseVouchers } from '../rewards/voucher-operations.ts';
import { loadLadder, newOrdersActivityInsert, orderTierDesired, settleOrderTierActivity } from '../tiers/tier-operations.ts';
import { SINGLE } from '../idempotency/run-idempotent.ts';
import { createHash } from 'node:crypto';
import type { OrderEventType } from '../db/schema.ts';
import { invariant, ProblemError } from '../http/error-codes.ts';
import { canonicalJson } from '../idempotency/run-idempotent.ts';
import * as ledger from '../ledger/ledger-operations.ts';
import type { LedgerContext } from '../ledger/ledger-operations.ts';
import { findMemberBy, findMemberRow, type MemberRow } from '../members/member-repository.ts';
import { normalizePhone } from '../members/phone.ts';
import { settleComponent, vestingDate, type ComponentResult } from '../rules/award-ledger.ts';
import * as awardRepo from '../rules/award-repository.ts';
import type { CompiledRule } from '../rules/compile-rule.ts';
import type { MemberContext } from '../rules/conditions.ts';
import { evaluateOrder, totalsByWallet, type AwardItem, type EvaluationContext, type OrderEvaluation } from '../rules/evaluate-order.ts';
import { periodBounds } from '../rules/local-time.ts';
import { loadMemberContext, memberContextOf } from '../rules/member-context.ts';
import { settleProgress } from '../rules/progress-operations.ts';
import { ORDER_RULE_KINDS } from '../rules/rule-config.ts';
import { earningEnvironment, earningEnvironmentOf, rulesInForce, type EarningSettings } from '../rules/rule-operations.ts';
import * as ruleRepo from '../rules/rule-repository.ts';
import { deriveOrderState, orderInput, type CustomerKeys, type OrderDetails, type OrderEventRecord, type OrderState, type RefundDetails } from './order-state.ts';
import './order-event-types.ts';
import * as repo from './order-repository.ts';
import type { OrderEventValues, OrderRow } from './order-repository.ts';
import { pointsByLine, refundedPartOf, remainingOf } from './refund-share.ts';
import { ledgerContextOf, programDetails, type BatchOpening, type ProgramDetails } from '../ledger/ledger-context.ts';
import { decodeKeyCursor, encodeKeyCursor } from '../http/cursor.ts';

const DAY_MS = 86_400_000;

export interface OrderEventInput {
  store?: string;
  orderId: string;
  eventId: string;
  type: OrderEventType;
  occurredAt: string;
  order?: OrderDetails;
  refund?: RefundDetails;
}

/** Frozen when the order is first linked to a member, so re-evaluating it later gives the same award. */
interface OrderContext {
  member: MemberContext;
  orderNumber: number;
  capUsage: Record<string, number>;
  takenAt: string;
}

type ProgramRow = ProgramDetails;

interface Env {
  program: ProgramRow;
  settings: EarningSettings;
  wallets: Record<string, { pendingDays: number }>;
  currency: { code: string; exponent: number };
  rulesInForce?: { at: Date; rules: CompiledRule[] };
}

/**
 * `placedAt`: when the order is likely placed (this event's details, or its time): the rules in
 * force then come with the environment, in its statement, and are used if the guess was right.
 */
async function envOf(ctx: LedgerContext, placedAt?: Date): Promise<Env> {
  const program = await programDetails(ctx);
  const { settings, wallets, rulesInForce } = await earningEnvironment(ctx.trx, ctx.program.id, placedAt);
  return { program, settings, wallets, currency: { code: program.currency, exponent: program.currency_exponent }, rulesInForce };
}

const hash = (value: unknown) => createHash('sha256').update(canonicalJson(value)).digest('hex');

function defaultCountry(program: ProgramRow): string | undefined {
  const value = (program.settings as Record<string, unknown>).defaultCountry;
  return typeof value === 'string' ? value : undefined;
}

// ---------------------------------------------------------------- validation

function invalid(detail: string, field?: string): never {
  throw new ProblemError('invalid_order', detail, field ? { field } : {});
}

async function validateDetails(ctx: LedgerContext, env: Env, store: { kind: string; currency: string | null } | null, details: OrderDetails): Promise<OrderDetails> {
  const expected = store?.currency ?? env.program.currency;
  if (details.currency !== expected) {
    throw new ProblemError('currency_mismatch', `the order is in ${details.currency}, but ${store?.currency ? 'this store' : 'this program'} uses ${expected}; nothing was recorded`, {
      currency: details.currency, expected,
    });
  }
  const ids = new Set<string>();
  let afterLine = 0;
  details.lines.forEach((l, i) => {
    if (ids.has(l.id)) invalid(`line id "${l.id}" is used twice`, `order.lines[${i}].id`);
    ids.add(l.id);
    const gross = l.quantity * l.unitPriceMinor;
    if (!Number.isSafeInteger(gross)) invalid(`line "${l.id}" is too large`, `order.lines[${i}]`);
    if ((l.discountMinor ?? 0) > gross) invalid(`line "${l.id}" has a discount of ${l.discountMinor}, more than its ${gross}`, `order.lines[${i}].discountMinor`);
    afterLine += gross - (l.discountMinor ?? 0);
  });
  if ((details.discountMinor ?? 0) > afterLine) invalid(`the order discount ${details.discountMinor} exceeds the merchandise ${afterLine}`, 'order.discountMinor');
  const total = afterLine - (details.discountMinor ?? 0) + (details.shippingMinor ?? 0) + (details.taxMinor ?? 0);
  if (!Number.isSafeInteger(total)) invalid('the order total is too large', 'order');
  if (details.placedAt !== undefined && Number.isNaN(Date.parse(details.placedAt))) invalid('placedAt is not a date-time', 'order.placedAt');
  const pp = details.paidWithPoints;
  if (pp) {
    if (pp.amountMinor > total) invalid(`paidWithPoints.amountMinor ${pp.amountMinor} exceeds the order total ${total}`, 'order.paidWithPoints.amountMinor');
    if (pp.operationId && pp.reservationId) invalid('paidWithPoints names an operation or a reservation, not both', 'order.paidWithPoints');
    if (pp.operationId) {
      const op = await repo.findPaymentOperation(ctx.trx, ctx.program.id, pp.operationId);
      if (!op || (op.kind !== 'spend' && op.kind !== 'post')) {
        throw new ProblemError('invalid_points_payment', op ? `operation ${op.id} is a ${op.kind}, not a spend or post` : `no operation ${pp.operationId} in this program`);
      }
    }
    if (pp.reservationId && !(await repo.findPaymentReservation(ctx.trx, ctx.program.id, pp.reservationId))) {
      throw new ProblemError('invalid_points_payment', `no reservation ${pp.reservationId} in this program`);
    }
  }
  const customer: CustomerKeys | undefined = details.customer ? { ...details.customer } : undefined;
  if (customer?.phone !== undefined) customer.phone = normalizePhone(customer.phone, defaultCountry(env.program));
  if (customer?.email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(customer.email)) {
    throw new ProblemError('invalid_email', `"${customer.email}" is not an email address`, { field: 'order.customer.email' });
  }
  return { ...details, channel: details.channel ?? store?.kind ?? undefined, ...(customer ? { customer } : {}) };
}

function validateRefund(input: OrderEventInput, knownLines: Set<string> | null) {
  if (input.type !== 'refunded') {
    if (input.refund) invalid(`a ${input.type} event carries no refund; send a "refunded" event`, 'refund');
    return;
  }
  const r = input.refund;
  if (!r || (!r.full && !(r.lines?.length) && !r.amountMinor && !r.shippingMinor)) {
    invalid('a refunded event needs refund.lines, refund.amountMinor, refund.shippingMinor or refund.full', 'refund');
  }
  const seen = new Set<string>();
  for (const l of r.lines ?? []) {
    if (seen.has(l.lineId)) invalid(`refund names line "${l.lineId}" twice`, 'refund.lines');
    seen.add(l.lineId);
    if (knownLines && !knownLines.has(l.lineId)) invalid(`the order has no line "${l.lineId}"`, 'refund.lines');
  }
}

// ---------------------------------------------------------------- ingestion

export async function ingestOrderEvent(ctx: LedgerContext, input: OrderEventInput) {
  const occurredAt = new Date(input.occurredAt);
  if (Number.isNaN(occurredAt.getTime())) throw new ProblemError('validation_failed', 'occurredAt is not a date-time', { field: 'occurredAt' });
  const placedAt = placedAtOf(input, occurredAt);
  const env = await envOf(ctx, Number.isNaN(placedAt.getTime()) ? undefined : placedAt);
  const store = input.store ? await repo.findStoreByCode(ctx.trx, ctx.program.id, input.store) : null;
  if (input.store && !store) throw unknownStore(input.store);
  const details = input.order ? await validateDetails(ctx, env, store ?? null, input.order) : undefined;

  // Recorded first (with a new order, by the statement that creates it); a check below that
  // refuses the event throws, and its transaction takes the row back with everything else.
  const event = eventValues(ctx, input, occurredAt, details);
  const { order, created } = await repo.lockOrCreateOrder(ctx.trx, ctx.program.id, store?.id ?? null, input.orderId, event);
  // The member the details name must exist. Locked now, after the order, as every order event
  // locks them, so that syncOrder does not lock them again.
  const namedId = details?.customer?.memberId;
  const named = namedId === undefined ? undefined : await repo.lockMember(ctx.trx, ctx.program.id, namedId);
  if (namedId !== undefined && !named) throw new ProblemError('member_not_found', `no member ${namedId} in this program`);
  const recorded = created || await repo.insertOrderEvent(ctx.trx, { program_id: ctx.program.id, order_id: order.id, ...event });
  if (!recorded) {
    const existing = await repo.findOrderEvent(ctx.trx, order.id, input.eventId);
    invariant(existing, 'an order event that conflicted exists');
    if (existing.payload_hash !== event.payload_hash) throw eventConflict(input, existing.type);
    // The row was locked by lockOrCreateOrder in this transaction: it is current.
    return { duplicate: true, order: await orderView(ctx, order) };
  }
  const storedDetails = order.details as OrderDetails | null;
  const lines = details ?? storedDetails;
  validateRefund(input, lines ? new Set(lines.lines.map((l) => l.id)) : null);
  if (details && order.member_id && details.customer?.memberId && details.customer.memberId !== order.member_id) {
    invalid(`the order belongs to member ${order.member_id}, not ${details.customer.memberId}`, 'order.customer.memberId');
  }
  // An order this event created has this event alone, and nothing recorded for it yet.
  const { order: synced, events } = await syncOrder(ctx, env, order, store?.code ?? null, {
    ...(created ? { events: [event] } : {}),
    locked: named,
    announce: (after) => announcement(input, store?.code ?? null, after),
  });
  return { duplicate: false, order: await orderView(ctx, synced, { events, awards: await awardRepo.awardsOfOrder(ctx.trx, synced.id), storeCode: store?.code ?? null }) };
}

/** When an event says its order was placed: its details' placedAt, else its own time. */
const placedAtOf = (input: OrderEventInput, occurredAt: Date) => (input.order?.placedAt !== undefined ? new Date(input.order.placedAt) : occurredAt);

/** A resend of an event id with other content. */
const eventConflict = (input: OrderEventInput, receivedAs: OrderEventType) => new ProblemError('order_event_conflict',
  `event "${input.eventId}" of order "${input.orderId}" was already received as a ${receivedAs} event with other content`, { eventId: input.eventId });

const unknownStore = (code: string) => new ProblemError('unknown_store', `this program has no store "${code}"`, { store: code });

/**
 * The row an event is recorded as: its payload holds the validated details (and the refund), its
 * hash what the shop sent, so that a resend with other content is told apart.
 */
function eventValues(ctx: LedgerContext, input: OrderEventInput, occurredAt: Date, details: OrderDetails | undefined): OrderEventValues {
  return {
    event_id: input.eventId, type: input.type, occurred_at: occurredAt,
    payload: { ...(details ? { order: details } : {}), ...(input.refund ? { refund: input.refund } : {}) }, received_at: ctx.now,
    payload_hash: hash({ type: input.type, occurredAt: occurredAt.toISOString(), order: input.order ?? null, refund: input.refund ?? null }),
  };
}

/** The outbox event of an order event that was recorded: `order.<type>`. */
function announcement(input: OrderEventInput, storeCode: string | null, after: Pick<OrderRow, 'id' | 'external_id' | 'status' | 'member_id'>) {
  return {
    type: `order.${input.type}`,
    payload: { orderId: after.id, store: storeCode, externalId: after.external_id, eventId: input.eventId, status: after.status, memberId: after.member_id },
  };
}

// ---------------------------------------------------------------- new orders together (a group commit)

/** An order event of a group commit (src/db/group-commit.ts). */
export interface GroupedOrderEvent {
  /** The request's place in its batch. */
  index: number;
  actor: string;
  input: OrderEventInput;
}

export type GroupedOrderAnswer = { duplicate: boolean; order: Awaited<ReturnType<typeof orderView>> } | typeof SINGLE | ProblemError;

/**
 * What a batch may take, from the request alone: a description of an order (created, paid or
 * fulfilled) that names its member by id, is paid with money only and cancels or refunds
 * nothing — an order's first event, or a later one such as its payment or fulfilment. Anything
 * else goes through ingestOrderEvent on its own.
 */
export function groupableOrderEvent(input: OrderEventInput): boolean {
  return input.refund === undefined && (input.type === 'created' || input.type === 'paid' || input.type === 'fulfilled')
    && input.order?.customer?.memberId !== undefined && input.order.paidWithPoints === undefined;
}

/**
 * The order events of a group commit, in one transaction, for what ingestOrderEvent would do in a
 * program whose rules need nothing but the order and the member (no per-member caps, no threshold
 * or challenge progress) to a new order, to an order's first settlement (a created order now
 * paid, with nothing of it in the ledger yet), or to an event that changes nothing in the ledger
 * (a paid order fulfilled, its points vesting from payment): every order created or locked, its
 * member locked, counted, evaluated (or its frozen evaluation taken), earned, awarded and recorded together, each
 * step one statement for the whole batch (with a tier ladder, each member's tier is read and their
 * qualification settled one by one). Any event that would take another path is answered SINGLE
 * and runs on its own after this commit: an event that would earn or reverse points of
 * an order settled before, an order whose details changed or with refunds, a member who is missing, not active or named twice
 * in the batch, a wallet the earn cannot be written to at once, rules that changed between the
 * orders' times. An order this batch created, or an event it recorded, and then hands back is
 * deleted before anything refers to it, so its own run finds nothing. A resend of an event the
 * order has is answered as a duplicate (or refused, with other content) from the batch. Every
 * event's answer is what ingestOrderEvent would have answered.
 */
export async function ingestOrderEventsMany(opening: BatchOpening, requests: GroupedOrderEvent[]): Promise<Map<number, GroupedOrderAnswer>> {
  const answers = new Map<number, GroupedOrderAnswer>();
  const orderIds = new Set<string>();
  const orderKey = (storeKey: string | null | undefined, orderId: string) => `${storeKey ?? ''}\u0000${orderId}`;
  const memberIds = new Set<string>();
  const screened: { r: GroupedOrderEvent; occurredAt: Date; placedAt: Date; order: OrderDetails }[] = [];
  for (const r of requests) {
    const occurredAt = new Date(r.input.occurredAt);
    const placedAt = placedAtOf(r.input, occurredAt);
    const memberId = r.input.order?.customer?.memberId;
    if (!groupableOrderEvent(r.input) || !memberId || Number.isNaN(occurredAt.getTime()) || Number.isNaN(placedAt.getTime())
      || orderIds.has(orderKey(r.input.store, r.input.orderId)) || memberIds.has(memberId)) {
      answers.set(r.index, SINGLE);
      continue;
    }
    orderIds.add(orderKey(r.input.store, r.input.orderId));
    memberIds.add(memberId);
    screened.push({ r, occurredAt, placedAt, order: r.input.order! });
  }
  if (screened.length === 0) return answers;
  const allSingle = () => {
    for (const t of screened) answers.set(t.r.index, SINGLE);
    return answers;
  };

  // The program and the transaction's instant come with the earning settings, wallets and rules
  // in force at the batch's latest order time, in the batch's first statement.
  const times = screened.map((t) => t.placedAt.getTime());
  const [rulesAt, rulesSince] = [new Date(Math.max(...times)), new Date(Math.min(...times))];
  const opened = await ruleRepo.programWithSettingsAndWallets(opening.trx, opening.programId, opening.clock?.(), rulesAt, rulesSince);
  const ctx = ledgerContextOf(opening.trx, opened?.program, opening.actor);
  const program = await programDetails(ctx);
  const { settings, wallets, rulesInForce: inForce } = earningEnvironmentOf(opened!.environment, rulesAt, rulesSince);
  const rules = (inForce?.rules ?? []).filter((r) => ORDER_RULE_KINDS.has(r.kind));
  if (!inForce?.steadySince || rules.some((r) => r.config.caps?.perMember || r.kind === 'threshold' || r.kind === 'challenge')) return allSingle();
  const ladder = await loadLadder(ctx.trx, ctx.program.id);
  const env: Env = { program, settings, wallets, currency: { code: program.currency, exponent: program.currency_exponent } };

  const stores = await repo.findStoresByCodes(ctx.trx, ctx.program.id, [...new Set(screened.flatMap((t) => t.r.input.store ?? []))]);
  const valid: { r: GroupedOrderEvent; placedAt: Date; store: { id: string; code: string } | null; event: OrderEventValues }[] = [];
  for (const t of screened) {
    try {
      const store = t.r.input.store === undefined ? null : stores.get(t.r.input.store);
      if (store === undefined) throw unknownStore(t.r.input.store!);
      const details = await validateDetails(ctx, env, store, t.order);
      valid.push({ r: t.r, placedAt: t.placedAt, store, event: eventValues(ctx, t.r.input, t.occurredAt, details) });
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      answers.set(t.r.index, error);
    }
  }
  const memberOf = (v: (typeof valid)[number]) => (v.event.payload.order as OrderDetails).customer!.memberId!;
  const keyOf = (v: (typeof valid)[number]) => orderKey(v.store?.id, v.r.input.orderId);
  const created = new Map((await repo.createOrders(ctx.trx, ctx.program.id, valid.map((v) => ({ storeId: v.store?.id ?? null, externalId: v.r.input.orderId, event: v.event }))))
    .map((o) => [orderKey(o.store_id, o.external_id), o]));

  // An order that exists goes with the batch when its member is linked and named by the event, it
  // is not cancelled, and its stored evaluation is still that of its details; then either nothing
  // of it is in the ledger yet (created, now paid: settled as a new order is, from all its
  // events), or this event changes nothing there (paid, now fulfilled: only the order's columns
  // and its outbox event). Anything else about an existing order is handed back.
  const before = valid.filter((v) => !created.has(keyOf(v)));
  const existing = new Map((await repo.lockLinkedOrders(ctx.trx, ctx.program.id, before.map((v) => ({ storeId: v.store?.id ?? null, externalId: v.r.input.orderId }))))
    .map((o) => [orderKey(o.store_id, o.external_id), o]));
  const changing = before.filter((v) => {
    const order = existing.get(keyOf(v));
    if (order && order.cancelled_at === null && order.member_id === memberOf(v) && order.evaluation !== null && order.context !== null) return true;
    answers.set(v.r.index, SINGLE);
    return false;
  });
  const recorded = await repo.recordEventsOfOrders(ctx.trx, ctx.program.id, changing.map((v) => ({ order_id: existing.get(keyOf(v))!.id, ...v.event })));
  // An event id taken already: a resend (answered as a duplicate once the awards are read, below)
  // or other content under it (refused), as the single path answers them.
  const resent: (typeof valid)[number][] = [];
  const changed = changing.filter((v) => {
    const rec = recorded.get(existing.get(keyOf(v))!.id)!;
    if (rec.recordedId !== null) return true;
    const first = rec.events.find((e) => e.event_id === v.event.event_id);
    invariant(first, 'an order event that conflicted exists');
    if (first.payload_hash === v.event.payload_hash) resent.push(v);
    else answers.set(v.r.index, eventConflict(v.r.input, first.type));
    return false;
  });
  // A new order's number is counted while its member is locked (laurel_earlier_orders, after the lock).
  const locked = await repo.lockMembersCounting(ctx.trx, ctx.program.id, [
    ...valid.filter((v) => created.has(keyOf(v))).map((v) => ({ memberId: memberOf(v), order: { id: created.get(keyOf(v))!.id, placedAt: v.placedAt } })),
    ...changed.map((v) => ({ memberId: memberOf(v) })),
  ]);
  const members = new Map(locked.map((l) => [l.member.id, l.member]));
  const earlierOrders = new Map(locked.map((l) => [l.member.id, l.earlierOrders]));

  const dropped = { orderIds: [] as string[], eventIds: [] as number[] };
  /** Hands a request back: what this batch recorded for it is taken back first (dropRecorded). */
  const drop = (index: number, order: OrderRow, recordedEventId: number | null) => {
    if (recordedEventId === null) dropped.orderIds.push(order.id);
    else dropped.eventIds.push(recordedEventId);
    answers.set(index, SINGLE);
  };
  const live = [];
  for (const v of valid) {
    const storeCode = v.store?.code ?? null;
    const order = created.get(keyOf(v)) ?? existing.get(keyOf(v));
    const fresh = created.has(keyOf(v));
    const rec = fresh ? undefined : order && recorded.get(order.id);
    if (!order || (!fresh && (rec?.recordedId ?? null) === null)) continue;
    const recordedEventId = fresh ? null : rec!.recordedId;
    const member = members.get(memberOf(v));
    if (member?.status !== 'active') {
      drop(v.r.index, order, recordedEventId);
      continue;
    }
    const events = fresh ? [v.event] : rec!.events;
    const state = deriveOrderState(eventRecords(events), storeCode);
    if (fresh) {
      invariant(state.placedAt.getTime() === v.placedAt.getTime() && state.details, 'a new order is placed when its first description says');
    } else if (rec!.traces.progress || !state.details || state.details.paidWithPoints || state.cancelledAt || state.refunds.length > 0
      || order.evaluated_hash !== detailsHashOf(state.details, state.placedAt, storeCode)) {
      // Progress, points paid with, a cancellation, refunds or other details to evaluate: the single path settles them.
      drop(v.r.index, order, recordedEventId);
      continue;
    }
    live.push({ ...v, storeCode, order, member, events, state, details: state.details!, recordedEventId, traces: fresh ? null : rec!.traces });
  }
  /** The awards of the orders settled before and of those resent, as the single path reads them. */
  const prior = await awardRepo.awardsOf(ctx.trx, 'order_id', [
    ...live.filter((l) => l.traces?.awards).map((l) => l.order.id),
    ...resent.map((v) => existing.get(keyOf(v))!).filter((o) => recorded.get(o.id)!.traces.awards).map((o) => o.id),
  ]);
  for (const v of resent) {
    const order = existing.get(keyOf(v))!;
    answers.set(v.r.index, { duplicate: true, order: await orderView(ctx, order, { events: recorded.get(order.id)!.events, awards: prior.get(order.id) ?? [], storeCode: v.store?.code ?? null }) });
  }

  const earns: ledger.GroupedEarn[] = [];
  type Evaluated = (typeof live)[number] & {
    context: OrderContext; evaluation: OrderEvaluation; groups: Map<string, AwardGroup>; perRule: Map<string, number>;
    /** This order's earns: their index in `earns`, and their component. */
    earnIndexes: Map<number, string>;
  };
  const evaluated = new Map<number, Evaluated>();
  for (const l of live) {
    let context: OrderContext;
    let evaluation: OrderEvaluation;
    if (l.recordedEventId === null) {
      // The tier in force now, as snapshotContext reads it (a statement per member, with a ladder).
      const member = ladder ? await loadMemberContext(ctx.trx, ctx.program.id, l.member.id, ctx.now, l.member) : memberContextOf(l.member, null);
      const earlier = earlierOrders.get(l.member.id);
      invariant(typeof earlier === 'number', 'a new order was counted when its member was locked');
      context = { member, orderNumber: earlier + 1, capUsage: {}, takenAt: ctx.now.toISOString() };
      evaluation = evaluateOrder(orderInput(l.details, l.state.placedAt, l.storeCode), evaluationContext(ctx, env, context), rules);
    } else {
      // Frozen when the order was linked, and evaluated for these very details (checked above).
      context = l.order.context as OrderContext;
      evaluation = l.order.evaluation as OrderEvaluation;
    }
    if (evaluation.contributions.length > 0) {
      drop(l.r.index, l.order, l.recordedEventId);
      continue;
    }
    const { groups, perRule } = awardGroups(l.order, l.state, evaluation);
    if (l.traces?.settled && !changesNothing(l.state, groups, perRule, prior.get(l.order.id) ?? [], l.traces)) {
      drop(l.r.index, l.order, l.recordedEventId);
      continue;
    }
    const earnIndexes = new Map<number, string>();
    // An order settled before holds what it should already (changesNothing): nothing to earn.
    for (const [component, g] of l.state.shares && !l.traces?.settled ? groups : []) {
      const desired = desiredOf(g);
      if (desired === 0) continue;
      earnIndexes.set(earns.length, component);
      earns.push({
        index: earns.length, actor: l.r.actor,
        input: {
          memberId: l.member.id, wallet: g.wallet, amount: desired, pendingUntil: vestsAtOf(l.state, g), reference: { type: 'order', id: l.order.id },
          description: describe(l.order, g).slice(0, 500), metadata: { component, breakdown: breakdownOf(g) },
        },
      });
    }
    evaluated.set(l.r.index, { ...l, context, evaluation, groups, perRule, earnIndexes });
  }
  // An order whose earn cannot be written with the others goes alone, whole.
  const planned = await ledger.planEarns(ctx, earns);
  for (const e of evaluated.values()) {
    if ([...e.earnIndexes.keys()].some((i) => planned.answers.has(i))) {
      drop(e.r.index, e.order, e.recordedEventId);
      evaluated.delete(e.r.index);
    }
  }
  const taken = await repo.dropRecorded(ctx.trx, dropped);
  invariant(taken.orders === dropped.orderIds.length && taken.events === dropped.eventIds.length, 'what the batch hands back is taken back whole');
  const kept = [...evaluated.values()];
  // Everything handed back: nothing left to write.
  if (kept.length === 0) return answers;
  const keptEarns = new Set(kept.flatMap((e) => [...e.earnIndexes.keys()]));
  const plans = new Map(planned.plans.filter((p) => keptEarns.has(p.e.index)).map((p) => [p.e.index, p]));
  const written = await ledger.writePlannedEarns(ctx, [...plans.values()]);

  // The awards, rule points and (without a ladder) tier activity go with the orders' update: one
  // statement. With a ladder each order's activity qualifies its member, as on the single path.
  const awards = kept.flatMap((e) => [...e.earnIndexes].map(([i, component]) => ({
    program_id: ctx.program.id, member_id: e.member.id, operation_id: written.get(i)!.operation.id, component, order_id: e.order.id, action_id: null,
    breakdown: breakdownOf(e.groups.get(component)!), created_at: ctx.now,
  })));
  // An order settled before keeps its rule points and tier activity: this event changes neither.
  const first = kept.filter((e) => !e.traces?.settled);
  const rulePoints = first.flatMap((e) => ruleRepo.rulePointRows(
    { programId: ctx.program.id, memberId: e.member.id, type: 'order', id: e.order.id, occurredAt: e.state.placedAt }, e.perRule));
  const counting = first.filter((e) => e.state.shares);
  const activity = ladder ? undefined : await newOrdersActivityInsert(ctx, counting.map((e) => ({
    memberId: e.member.id, orderId: e.order.id, placedAt: e.state.placedAt, ...tierActivityOf(e.state),
  })));
  if (ladder) {
    for (const e of counting) {
      await settleOrderTierActivity({ ...ctx, actor: e.r.actor }, { memberId: e.member.id, orderId: e.order.id, placedAt: e.state.placedAt, ...tierActivityOf(e.state), isNew: true });
    }
  }
  const claimUntil = (state: OrderState) => new Date(state.placedAt.getTime() + env.settings.claimWindowDays * DAY_MS);
  const { orders, alongsideRows } = await repo.updateOrders(ctx.trx, kept.map((e) => {
    const detailsHash = detailsHashOf(e.details, e.state.placedAt, e.storeCode);
    return {
      id: e.order.id,
      values: orderUpdate(ctx, e.state, { memberId: e.member.id, claimUntil: claimUntil(e.state), detailsHash, context: e.context, evaluation: e.evaluation, evaluatedHash: detailsHash }),
      event: { programId: ctx.program.id, memberId: e.member.id, ...announcement(e.r.input, e.storeCode, { ...e.order, status: e.state.status, member_id: e.member.id }) },
    };
  }), [awardRepo.awardsInsert(ctx.trx, awards), ruleRepo.rulePointsInsert(ctx.trx, rulePoints), ...(activity ? [activity.insert] : [])]);
  const updated = new Map(orders.map((o) => [o.id, o]));
  invariant(updated.size === kept.length, 'every order the batch keeps is updated');
  invariant(alongsideRows[0] === awards.length && alongsideRows[1] === rulePoints.length && alongsideRows[2] === activity?.rows,
    'every award, rule point and tier activity of the batch is new');
  for (const e of kept) {
    // The order's awards as awardsOfOrder would read them: this batch's earns, nothing reversed yet.
    const own: awardRepo.AwardBrief[] = e.traces?.settled ? prior.get(e.order.id) ?? [] : [...e.earnIndexes].map(([i, component]) => {
      const { lot } = plans.get(i)!.plan.write;
      return {
        operation_id: written.get(i)!.operation.id, component, wallet: e.groups.get(component)!.wallet, amount: earns[i]!.input.amount, reversed: 0,
        vested: lot.vested, vests_at: lot.vests_at, created_at: ctx.now,
      };
    });
    answers.set(e.r.index, { duplicate: false, order: await orderView(ctx, updated.get(e.order.id)!, { events: e.events, awards: own, storeCode: e.storeCode }) });
  }
  return answers;
}

// ---------------------------------------------------------------- the order as a function of its events

type OrderEventRows = Awaited<ReturnType<typeof repo.eventsOfOrder>>;

function eventRecords(rows: OrderEventRows): OrderEventRecord[] {
  return rows.map((r) => {
    const payload = r.payload as { order?: OrderDetails; refund?: RefundDetails };
    return { eventId: r.event_id, type: r.type, occurredAt: r.occurred_at, order: payload.order, refund: payload.refund };
  });
}

/**
 * The member an order's customer keys name. One named by id is returned locked, since the order
 * is theirs whatever the claim window says and syncOrder locks its member anyway; one found by
 * customer id, email or phone is only read, as the claim window may still turn them down.
 */
async function findMemberFor(
  ctx: LedgerContext, keys: CustomerKeys | undefined, lock: (id: string) => Promise<MemberRow | undefined>,
): Promise<{ member: MemberRow; explicit: boolean } | null> {
  if (!keys) return null;
  if (keys.memberId) {
    const member = await lock(keys.memberId);
    return member ? { member, explicit: true } : null;
  }
  for (const key of [{ customerId: keys.customerId }, { email: keys.email }, { phone: keys.phone }]) {
    const value = Object.values(key)[0];
    if (value === undefined) continue;
    const member = await findMemberBy(ctx.trx, ctx.program.id, key);
    if (member) return { member, explicit: false };
  }
  return null;
}

async function snapshotContext(ctx: LedgerContext, member: MemberRow, orderId: string, placedAt: Date, rules: CompiledRule[]): Promise<OrderContext> {
  const memberId = member.id;
  const capUsage: Record<string, number> = {};
  for (const rule of rules) {
    const cap = rule.config.caps?.perMember;
    if (!cap) continue;
    capUsage[rule.ruleId] = (await ruleRepo.rulePointsWithin(ctx.trx, memberId, rule.ruleId, periodBounds(cap.period, placedAt, ctx.program.time_zone), orderId)).points;
  }
  return {
    member: await loadMemberContext(ctx.trx, ctx.program.id, memberId, ctx.now, member),
    orderNumber: (await repo.countEarlierOrders(ctx.trx, memberId, placedAt, orderId)) + 1,
    capUsage,
    takenAt: ctx.now.toISOString(),
  };
}

function evaluationContext(ctx: LedgerContext, env: Env, context: OrderContext): EvaluationContext {
  return {
    member: context.member, orderNumber: context.orderNumber, capUsage: context.capUsage, timeZone: ctx.program.time_zone,
    currency: env.currency, wallets: env.wallets, pendingFrom: env.settings.pendingFrom,
  };
}

const orderComponent = (orderId: string, item: Pick<AwardItem, 'wallet' | 'pending'>) => `order:${orderId}:${item.wallet}:${item.pending.from}:${item.pending.days}`;

function earningBasis(state: OrderState, from: 'paid' | 'fulfilled'): Date | null {
  if (!state.paidAt || state.cancelledAt) return null;
  return from === 'paid' ? state.paidAt : state.fulfilledAt;
}

/**
 * Recomputes an order from all its events and moves the ledger to match: the award (after
 * refunds) per component, per-rule points for caps, threshold and challenge progress, and the
 * points paid with (restored on refund, the reservation posted or voided). Every step targets an
 * amount, so the result is the same for any order of delivery.
 */
export async function syncOrder(
  ctx: LedgerContext, env: Env, order: OrderRow, storeCode: string | null,
  known: {
    /** The order was created in this transaction with these events (so nothing refers to it yet). */
    events?: OrderEventRows;
    /** A member this transaction has already locked (the one the event's details name): not locked again. */
    locked?: MemberRow;
    /** The outbox event of this change, written with the order's update (one statement). */
    announce?: (after: Pick<OrderRow, 'id' | 'external_id' | 'status' | 'member_id'>) => { type: string; payload: Record<string, unknown> } | null;
  } = {},
): Promise<{ order: OrderRow; events: OrderEventRows }> {
  const isNew = known.events !== undefined;
  const events = known.events ?? await repo.eventsOfOrder(ctx.trx, order.id);
  const state = deriveOrderState(eventRecords(events), storeCode);
  const details = state.details;
  const claimUntil = new Date(state.placedAt.getTime() + env.settings.claimWindowDays * DAY_MS);

  const lock = async (id: string) => (known.locked?.id === id ? known.locked : repo.lockMember(ctx.trx, ctx.program.id, id));
  let memberId = order.member_id;
  let member: MemberRow | undefined;
  if (!memberId && details) {
    const found = await findMemberFor(ctx, details.customer, lock);
    // A shopper who joined after the claim window closed does not get the order.
    if (found && (found.explicit || found.member.enrolled_at <= claimUntil)) {
      memberId = found.member.id;
      if (found.explicit) member = found.member;
    }
  }
  member ??= memberId ? await lock(memberId) : undefined;
  const active = member?.status === 'active';

  let context = order.context as OrderContext | null;
  let evaluation = order.evaluation as OrderEvaluation | null;
  let evaluatedHash = order.evaluated_hash;
  const detailsHash = details ? detailsHashOf(details, state.placedAt, storeCode) : null;
  if (memberId && details && (evaluation === null || evaluatedHash !== detailsHash)) {
    const prefetched = env.rulesInForce?.at.getTime() === state.placedAt.getTime() ? env.rulesInForce.rules : undefined;
    const rules = (prefetched ?? await rulesInForce(ctx.trx, ctx.program.id, state.placedAt)).filter((r) => ORDER_RULE_KINDS.has(r.kind));
    context ??= await snapshotContext(ctx, member!, order.id, state.placedAt, rules);
    evaluation = evaluateOrder(orderInput(details, state.placedAt, storeCode), evaluationContext(ctx, env, context), rules);
    evaluatedHash = detailsHash;
  }

  if (memberId && evaluation && state.shares) {
    await settleOrderAward(ctx, env, order, state, evaluation, { id: memberId, active }, isNew);
  }
  if (memberId && state.shares) {
    // Tier qualification: the order's net merchandise spend and one order, while paid and not
    // cancelled or fully refunded; converges on any arrival order like the points do.
    await settleOrderTierActivity(ctx, { memberId, orderId: order.id, placedAt: state.placedAt, ...tierActivityOf(state), isNew });
  }
  await settlePointsPayment(ctx, order, state);
  // A cancelled order gives back the vouchers it consumed (rewards checkout), once: released
  // vouchers are no longer attached to the order.
  if (state.cancelledAt) await releaseVouchers(ctx, { orderId: order.external_id });

  const announced = known.announce?.({ id: order.id, external_id: order.external_id, status: state.status, member_id: memberId });
  const updated = await repo.updateOrder(ctx.trx, order.id, orderUpdate(ctx, state, { memberId, claimUntil, detailsHash, context, evaluation, evaluatedHash }),
    announced && { programId: ctx.program.id, memberId, ...announced });
  return { order: updated, events };
}

/** The order's columns as its state and evaluation decide them. */
function orderUpdate(
  ctx: LedgerContext, state: OrderState,
  o: { memberId: string | null; claimUntil: Date; detailsHash: string | null; context: OrderContext | null; evaluation: OrderEvaluation | null; evaluatedHash: string | null },
): repo.OrderUpdate {
  const details = state.details;
  const keys = details?.customer;
  return {
    member_id: o.memberId,
    customer_id: o.memberId ? null : keys?.customerId ?? null,
    email_normalized: o.memberId ? null : keys?.email?.toLowerCase() ?? null,
    phone: o.memberId ? null : keys?.phone ?? null,
    status: state.status,
    currency: details?.currency ?? null,
    channel: details?.channel ?? null,
    placed_at: state.placedAt,
    paid_at: state.paidAt,
    fulfilled_at: state.fulfilledAt,
    cancelled_at: state.cancelledAt,
    claim_until: o.memberId ? null : o.claimUntil,
    merchandise_minor: state.shares?.merchandiseMinor ?? 0,
    refunded_minor: state.shares?.refundedMinor ?? 0,
    details, details_hash: o.detailsHash, context: o.context, evaluation: o.evaluation, evaluated_hash: o.evaluatedHash,
    updated_at: ctx.now,
  };
}

/** The hash of what an order's evaluation depends on: re-evaluated only when it changes. */
const detailsHashOf = (details: OrderDetails, placedAt: Date, storeCode: string | null) => hash({ details, placedAt: placedAt.toISOString(), store: storeCode });

/** The points of an order's award items, grouped by ledger component (wallet and pending terms). */
interface AwardGroup {
  wallet: string;
  from: 'paid' | 'fulfilled';
  days: number;
  items: { item: AwardItem; points: number }[];
}

/** What the order's evaluation gives now (after refunds), per component and per rule. */
function awardGroups(order: Pick<OrderRow, 'id'>, state: OrderState, evaluation: OrderEvaluation) {
  const groups = new Map<string, AwardGroup>();
  const perRule = new Map<string, number>();
  for (const item of evaluation.items) {
    const basis = earningBasis(state, item.pending.from);
    const points = basis ? remainingOf(item.attribution, evaluation.lineIds, state.shares!) : 0;
    const key = orderComponent(order.id, item);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { wallet: item.wallet, from: item.pending.from, days: item.pending.days, items: [] }));
    g.items.push({ item, points });
    if (points > 0) perRule.set(item.ruleId, (perRule.get(item.ruleId) ?? 0) + points);
  }
  return { groups, perRule };
}

const desiredOf = (g: AwardGroup) => g.items.reduce((s, i) => s + i.points, 0);

/**
 * Whether settling an order settled before would change nothing in the ledger, by the single
 * path's own tests: every order component's award holds what it should (settleComponent earns or
 * reverses only a difference, components without items should hold nothing), the rule points are
 * those the evaluation gives, and the tier activity is what it should count (a paid order
 * fulfilled, its points vesting from payment).
 */
function changesNothing(state: OrderState, groups: Map<string, AwardGroup>, perRule: Map<string, number>, awards: awardRepo.AwardBrief[], traces: repo.OrderLedgerTraces): boolean {
  const held = new Map<string, number>();
  for (const a of awards) if (a.component.startsWith('order:')) held.set(a.component, (held.get(a.component) ?? 0) + a.amount - a.reversed);
  for (const [component, g] of groups) if (desiredOf(g) !== (held.get(component) ?? 0)) return false;
  for (const [component, points] of held) if (!groups.has(component) && points !== 0) return false;
  const rules = Object.entries(traces.rulePoints);
  if (rules.length !== perRule.size || rules.some(([ruleId, points]) => perRule.get(ruleId) !== points)) return false;
  const tier = orderTierDesired(tierActivityOf(state));
  return tier.net_spend === traces.tier.netSpend && tier.orders === traces.tier.orders;
}

function vestsAtOf(state: OrderState, g: AwardGroup): Date | null {
  const basis = earningBasis(state, g.from);
  return basis ? vestingDate(basis, g.days) : null;
}

const breakdownOf = (g: AwardGroup) => g.items.map((i) => ({
  ruleId: i.item.ruleId, version: i.item.version, name: i.item.name, kind: i.item.kind, wallet: i.item.wallet, points: i.points, grossPoints: i.item.points, why: i.item.why,
}));

/** What the order counts for tier qualification: its net merchandise spend, while paid and not cancelled or fully refunded. */
function tierActivityOf(state: OrderState) {
  const shares = state.shares!;
  return { netSpendMinor: shares.merchandiseMinor - shares.refundedMinor, counts: state.paidAt !== null && state.cancelledAt === null && !shares.fully };
}

function describe(order: Pick<OrderRow, 'external_id'>, g: AwardGroup): string {
  return `Order ${order.external_id}: ${g.items.map((i) => `${i.item.name} ${i.points}`).join(' + ')}`;
}

async function settleOrderAward(
  ctx: LedgerContext, env: Env, order: OrderRow, state: OrderState, evaluation: OrderEvaluation, member: { id: string; active: boolean }, isNew: boolean,
) {
  const shares = state.shares!;
  const { groups, perRule } = awardGroups(order, state, evaluation);
  // Components that earned before but have no item now (the details changed) go back to zero.
  for (const award of isNew ? [] : await awardRepo.awardsOfOrder(ctx.trx, order.id)) {
    const parts = award.component.split(':');
    if (parts[0] !== 'order' || groups.has(award.component)) continue;
    groups.set(award.component, { wallet: award.wallet, from: parts[3] as 'paid' | 'fulfilled', days: Number(parts[4]), items: [] });
  }
  const reference = { type: 'order', id: order.id };
  for (const [component, g] of groups) {
    await settleComponent(ctx, {
      memberId: member.id, memberActive: member.active, wallet: g.wallet, component, desired: desiredOf(g),
      vestsAt: vestsAtOf(state, g), orderId: order.id, actionId: null, reference, isNew, description: describe(order, g), breakdown: breakdownOf(g),
    });
  }
  await ruleRepo.replaceRulePoints(ctx.trx, { programId: ctx.program.id, memberId: member.id, type: 'order', id: order.id, occurredAt: state.placedAt, isNew }, perRule);
  const counting = state.paidAt !== null && state.cancelledAt === null;
  await settleProgress(ctx, member, {
    type: 'order', id: order.id, occurredAt: state.placedAt, vestingBasis: state.paidAt ?? state.placedAt, reference, label: `order ${order.external_id}`, isNew,
  }, evaluation.contributions.map((c) => {
    const left = counting ? remainingOf(c.attribution, evaluation.lineIds, shares) : 0;
    return { ruleId: c.ruleId, version: c.version, periodKey: c.periodKey, amount: c.kind === 'threshold' ? left : left >= c.minOrderMinor ? 1 : 0 };
  }), env.wallets);
}

/**
 * Points the member paid with come back with refunds, in proportion (all of them on a full
 * refund or cancellation). A reservation still open is posted once the order is paid, or voided
 * if it is cancelled first; either way the member ends with the same points.
 */
async function settlePointsPayment(ctx: LedgerContext, order: OrderRow, state: OrderState) {
  const pp = state.details?.paidWithPoints;
  if (!pp || !state.shares) return;
  let targetId = pp.operationId ?? null;
  if (pp.reservationId) {
    const reservation = await repo.findPaymentReservation(ctx.trx, ctx.program.id, pp.reservationId);
    if (!reservation) return;
    if (reservation.status === 'pending' && reservation.expires_at > ctx.now) {
      if (state.cancelledAt) await ledger.voidReservation(ctx, { reservationId: reservation.id });
      else if (state.paidAt) {
        const posted = await ledger.postReservation(ctx, { reservationId: reservation.id, reference: { type: 'order', id: order.id } });
        targetId = posted.operation.id;
      }
    } else if (reservation.status === 'posted') {
      targetId = reservation.post_operation_id;
    }
  }
  if (!targetId) return;
  const target = await repo.findPaymentOperation(ctx.trx, ctx.program.id, targetId);
  if (!target) return;
  const desired = refundedPartOf(target.amount, state.shares);
  if (desired > target.restored) {
    await ledger.restore(ctx, {
      operationId: target.id, amount: desired - target.restored, reference: { type: 'order', id: order.id },
      description: `Order ${order.external_id} ${state.cancelledAt ? 'cancelled' : 'refunded'}: points paid with given back`,
    });
  }
}

// ---------------------------------------------------------------- claims

/**
 * A shopper joined: their earlier orders that are still inside the claim window become theirs
 * and earn as if they had been a member. Called in the transaction that creates the member.
 */
export async function claimOrdersForMember(ctx: LedgerContext, member: MemberRow): Promise<number> {
  const orders = await repo.lockClaimableOrders(ctx.trx, ctx.program.id, { customerId: member.customer_id, email: member.email, phone: member.phone }, member.enrolled_at);
  if (orders.length === 0) return 0;
  const env = await envOf(ctx);
  let claimed = 0;
  for (const { id } of orders) {
    const order = await repo.lockOrder(ctx.trx, ctx.program.id, id);
    const store = order.store_id ? await repo.findStoreById(ctx.trx, ctx.program.id, order.store_id) : null;
    const { order: synced } = await syncOrder(ctx, env, order, store?.code ?? null, {
      announce: (after) => after.member_id === member.id ? { type: 'order.claimed', payload: { orderId: after.id, externalId: after.external_id, memberId: member.id } } : null,
    });
    if (synced.member_id === member.id) claimed++;
  }
  return claimed;
}

// ---------------------------------------------------------------- views

export async function getOrder(ctx: LedgerContext, id: string) {
  const order = await repo.findOrder(ctx.trx, ctx.program.id, id);
  if (!order) throw new ProblemError('order_not_found');
  return orderView(ctx, order);
}

export async function lookupOrder(ctx: LedgerContext, storeCode: string | undefined, externalId: string) {
  const store = storeCode ? await repo.findStoreByCode(ctx.trx, ctx.program.id, storeCode) : null;
  if (storeCode && !store) throw new ProblemError('order_not_found', `no store "${storeCode}", so no such order`);
  const order = await repo.findOrderByExternalId(ctx.trx, ctx.program.id, store?.id ?? null, externalId);
  if (!order) throw new ProblemError('order_not_found');
  return orderView(ctx, order);
}

export async function listMemberOrders(ctx: LedgerContext, memberId: string, query: { cursor?: string; limit?: number }) {
  if (!(await findMemberRow(ctx.trx, ctx.program.id, memberId))) throw new ProblemError('member_not_found');
  const limit = query.limit ?? 20;
  const key = query.cursor ? decodeKeyCursor(query.cursor) : undefined;
  const before = key && { placedAt: key.at, id: key.id };
  const rows = await repo.ordersOfMember(ctx.trx, ctx.program.id, memberId, { before, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const loaded = await orderViewData(ctx, page);
  const data = [];
  for (const row of page) data.push(await orderView(ctx, row, loaded.get(row.id)));
  const last = page[page.length - 1];
  return { data, nextCursor: rows.length > limit && last?.placed_at ? encodeKeyCursor(last.placed_at, last.id) : null };
}

/** What an order's view reads besides its row; a list loads it for the whole page at once. */
interface OrderViewData {
  events: Awaited<ReturnType<typeof repo.eventsOfOrder>>;
  awards: awardRepo.AwardBrief[];
  storeCode: string | null;
}

async function orderViewData(ctx: LedgerContext, orders: OrderRow[]): Promise<Map<string, OrderViewData>> {
  const ids = orders.map((o) => o.id);
  const [events, awards] = [await repo.eventsOfOrders(ctx.trx, ids), await awardRepo.awardsOf(ctx.trx, 'order_id', ids)];
  const stores = new Map<string, string | null>();
  for (const storeId of new Set(orders.map((o) => o.store_id).filter((id): id is string => id !== null))) {
    stores.set(storeId, (await repo.findStoreById(ctx.trx, ctx.program.id, storeId))?.code ?? null);
  }
  return new Map(orders.map((o) => [o.id, {
    events: events.get(o.id) ?? [], awards: awards.get(o.id) ?? [], storeCode: o.store_id ? stores.get(o.store_id) ?? null : null,
  }]));
}

export async function orderView(ctx: LedgerContext, order: OrderRow, loaded?: OrderViewData) {
  const { events, awards, storeCode } = loaded ?? (await orderViewData(ctx, [order])).get(order.id)!;
  const state = events.length > 0 ? deriveOrderState(eventRecords(events), storeCode) : null;
  const details = order.details as OrderDetails | null;
  const evaluation = order.evaluation as OrderEvaluation | null;
  const held: Record<string, number> = {};
  for (const a of awards) held[a.wallet] = (held[a.wallet] ?? 0) + a.amount - a.reversed;
  for (const [wallet, points] of Object.entries(held)) if (points === 0) delete held[wallet];
  const breakdown = (evaluation?.items ?? []).map((item) => {
    const basis = state ? earningBasis(state, item.pending.from) : null;
    return {
      ruleId: item.ruleId, version: item.version, name: item.name, kind: item.kind, wallet: item.wallet,
      points: basis && state?.shares ? remainingOf(item.attribution, evaluation!.lineIds, state.shares) : 0,
      grossPoints: item.points, why: item.why, pending: item.pending,
      lines: pointsByLine(item.attribution, evaluation!.lineIds),
    };
  });
  let awaiting: string | null = null;
  if (!details) awaiting = 'details';
  else if (!order.member_id) awaiting = 'member';
  else if (order.status === 'pending') awaiting = 'payment';
  else if (order.status !== 'cancelled' && evaluation?.items.some((i) => i.pending.from === 'fulfilled') && !order.fulfilled_at) awaiting = 'fulfilment';
  const pp = details?.paidWithPoints;
  return {
    id: order.id,
    store: storeCode,
    orderId: order.external_id,
    status: order.status,
    memberId: order.member_id,
    currency: order.currency,
    channel: order.channel,
    placedAt: order.placed_at?.toISOString() ?? null,
    paidAt: order.paid_at?.toISOString() ?? null,
    fulfilledAt: order.fulfilled_at?.toISOString() ?? null,
    cancelledAt: order.cancelled_at?.toISOString() ?? null,
    claimUntil: order.claim_until?.toISOString() ?? null,
    merchandiseMinor: order.merchandise_minor,
    refundedMinor: order.refunded_minor,
    lines: (details?.lines ?? []) as unknown as Record<string, unknown>[],
    shippingMinor: details?.shippingMinor ?? 0,
    taxMinor: details?.taxMinor ?? 0,
    discountMinor: details?.discountMinor ?? 0,
    refunds: (state?.refunds ?? []).map((r) => ({ eventId: r.eventId, occurredAt: r.occurredAt.toISOString(), lines: r.lines as unknown as Record<string, unknown>[], amountMinor: r.amountMinor, full: r.full })),
    events: events.map((e) => ({ eventId: e.event_id, type: e.type, occurredAt: e.occurred_at.toISOString(), receivedAt: e.received_at.toISOString() })),
    points: {
      held,
      expected: totalsByWallet(breakdown),
      awaiting,
      orderNumber: (order.context as OrderContext | null)?.orderNumber ?? null,
      breakdown,
      notApplied: evaluation?.notApplied ?? [],
      operations: awards.map((a) => ({
        operationId: a.operation_id, wallet: a.wallet, amount: a.amount, reversed: a.reversed, component: a.component,
        pending: a.vested === false, vestsAt: a.vests_at?.toISOString() ?? null, createdAt: a.created_at.toISOString(),
      })),
    },
    pointsPayment: pp ? { amountMinor: pp.amountMinor, operationId: pp.operationId ?? null, reservationId: pp.reservationId ?? null } : null,
    createdAt: order.created_at.toISOString(),
    updatedAt: order.updated_at.toISOString(),
  };
}

export type { ComponentResult };
