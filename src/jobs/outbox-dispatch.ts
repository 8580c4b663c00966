import type { Db } from '../db/database.ts';
import { lockOutbox, markDispatched, underSavepoint, undispatchedEvents } from '../events/event-repository.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { createMessagesForEvents } from '../notifications/message-triggers.ts';
import { fanOut } from '../webhooks/webhook-repository.ts';
import { outboxHooksFor } from './job-registry.ts';

export interface DispatchResult {
  events: number;
  deliveries: number;
  messages: number;
  /** Events were left when the time budget ran out. */
  more: boolean;
}

/**
 * Moves committed outbox events on: webhook deliveries for every subscribed endpoint, the
 * messages they trigger, and the registered hooks — then marks them dispatched, all in one
 * transaction per batch. A crash loses nothing (the batch is simply dispatched again) and
 * creates nothing twice (deliveries are unique per endpoint and event, messages per dedupe key).
 * Dispatchers queue on one advisory lock, so events are dispatched in one total order, which
 * is the per-member delivery order.
 */
export async function dispatchOutbox(
  db: Db, options: { batchSize: number; budgetMs: number }, log: (level: 'error' | 'info', message: string) => void = () => {},
): Promise<DispatchResult> {
  const result: DispatchResult = { events: 0, deliveries: 0, messages: 0, more: false };
  const started = Date.now();
  for (;;) {
    if (Date.now() - started > options.budgetMs) {
      result.more = true;
      return result;
    }
    const batch = await inTransaction(db, async (trx) => {
      await lockOutbox(trx);
      const events = await undispatchedEvents(trx, options.batchSize);
      if (events.length === 0) return null;
      const ids = events.map((e) => e.id);
      const deliveries = await fanOut(trx, ids);
      const messages = await createMessagesForEvents(trx, events, (e) => log('error', `progress provider failed: ${(e as Error).message ?? e}`));
      for (const event of events) {
        for (const hook of outboxHooksFor(event.type)) {
          const error = await underSavepoint(trx, () => hook.handle(trx, event));
          if (error) log('error', `outbox hook ${hook.name} failed on event ${event.id} (${event.type}): ${(error as Error).stack ?? error}`);
        }
      }
      await markDispatched(trx, ids);
      return { events: events.length, deliveries, messages };
    });
    if (!batch) return result;
    result.events += batch.events;
    result.deliveries += batch.deliveries;
    result.messages += batch.messages;
  }
}
