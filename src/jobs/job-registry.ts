import type { Db, Tx } from '../db/database.ts';
import type { EventRow } from '../events/event-repository.ts';
import { subscriptionMatches } from '../events/event-types.ts';
import type { LifecycleSettings } from '../notifications/lifecycle-settings.ts';

/**
 * Extension points of the background worker, for the modules that arrive with their own jobs
 * (tier reviews, auto-issued rewards, "reward now affordable"…). Register at import time of a
 * module the worker imports (see src/jobs/worker.ts).
 */

export interface DailyJobContext {
  db: Db;
  program: { id: string; name: string; time_zone: string };
  /** The program-calendar date this run is for (YYYY-MM-DD, program time zone). */
  localDate: string;
  /** The instant the run treats as now (database clock, or the test clock). */
  now: Date;
  settings: LifecycleSettings;
  /** Call between batches: a run that stops heartbeating is started again by the scheduler. */
  heartbeat(): Promise<void>;
  log(message: string): void;
}

/**
 * A job run once per program and local day, at the program's `dailyJobsAt` local time (or later
 * when the worker was down). It must be idempotent and resumable: it may run twice, concurrently,
 * or again after a crash half-way.
 */
export interface DailyProgramJob {
  name: string;
  enabled(settings: LifecycleSettings): boolean;
  run(ctx: DailyJobContext): Promise<void>;
}

/**
 * Runs inside the outbox dispatch transaction for each event whose type matches, before the
 * event is marked dispatched: what it writes (e.g. a reward.affordable event) commits exactly
 * once with the dispatch. A hook that throws is rolled back alone and logged; the event still
 * goes out. Keep hooks fast: dispatch is serialised.
 */
export interface OutboxHook {
  name: string;
  /** Event types or patterns ("points.*", "*"). */
  eventTypes: string[];
  handle(trx: Tx, event: EventRow): Promise<void>;
}

const dailyJobs = new Map<string, DailyProgramJob>();
const outboxHooks = new Map<string, OutboxHook>();

export function registerDailyProgramJob(job: DailyProgramJob): () => void {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(job.name)) throw new Error(`daily job name "${job.name}" must be snake_case`);
  dailyJobs.set(job.name, job);
  return () => dailyJobs.delete(job.name);
}

export function dailyProgramJobs(): DailyProgramJob[] {
  return [...dailyJobs.values()];
}

export function dailyProgramJob(name: string): DailyProgramJob | undefined {
  return dailyJobs.get(name);
}

export function registerOutboxHook(hook: OutboxHook): () => void {
  outboxHooks.set(hook.name, hook);
  return () => outboxHooks.delete(hook.name);
}

export function outboxHooksFor(type: string): OutboxHook[] {
  return [...outboxHooks.values()].filter((h) => h.eventTypes.some((p) => subscriptionMatches(p, type)));
}
