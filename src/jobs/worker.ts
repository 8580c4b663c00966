import { Logger, run, type JobHelpers, type Runner, type TaskList } from 'graphile-worker';
import pg from 'pg';
import { databaseNow, type Db } from '../db/database.ts';
import { deleteKeysBefore } from '../idempotency/idempotency-repository.ts';
import { runDueMaintenance } from '../ledger/ledger-maintenance.ts';
import { closeEmailTransports } from '../notifications/email-transport.ts';
import { sendDueMessages } from '../notifications/message-sender.ts';
import { REWARDS_CRONTAB, rewardTasks } from '../rewards/reward-jobs.ts';
import '../rewards/reward-hooks.ts';
import { TIERS_CRONTAB, tierTasks } from '../tiers/tier-jobs.ts';
import { EARNING_CRONTAB, earningTasks } from '../actions/birthday-job.ts';
import { deliverDue } from '../webhooks/webhook-delivery.ts';
import { PROGRAM_JOB_TASK, runProgramJob, scheduleDailyRuns, type RunSpec } from './lifecycle-jobs.ts';
import { deleteExpiredMarks, deleteOldRuns } from './lifecycle-repository.ts';
import { dispatchOutbox } from './outbox-dispatch.ts';
import { PatientPool } from './patient-pool.ts';
import { workerOptionsFromEnv, type WorkerOptions } from './worker-options.ts';

/** How long a stored response stays replayable for its Idempotency-Key. */
export const IDEMPOTENCY_RETENTION_DAYS = 30;
/** Completed daily runs are kept this long for inspection. */
export const RUN_RETENTION_DAYS = 90;

export const TASKS = {
  outbox: 'laurel_outbox',
  deliver: 'laurel_deliver',
  messages: 'laurel_messages',
  schedule: 'laurel_schedule',
  programJob: PROGRAM_JOB_TASK,
} as const;

type Log = (level: string, message: string) => void;

/** Wakes a sweep at a future time (a retry); timers of the same second share one job. */
async function wakeAt(helpers: JobHelpers, task: string, times: Date[]) {
  const seconds = [...new Set(times.map((t) => Math.ceil(t.getTime() / 1000)))];
  for (const second of seconds) {
    await helpers.addJob(task, {}, { runAt: new Date(second * 1000), jobKey: `${task}_at_${second}`, maxAttempts: 1 });
  }
}

export function taskList(db: Db, options: WorkerOptions = workerOptionsFromEnv(), log: Log = () => {}): TaskList {
  return {
    ...rewardTasks(db),
    ...tierTasks(db, { clock: options.clock }),
    ...earningTasks(db, { clock: options.clock }),
    ledger_maintenance: async (_payload, helpers) => {
      const result = await runDueMaintenance(db, { clock: options.clock });
      if (result.lotsExpired > 0 || result.members > 0) helpers.logger.info(`ledger maintenance: ${JSON.stringify(result)}`);
    },
    idempotency_cleanup: async (_payload, helpers) => {
      // Retention is counted on the clock that stamped the rows: an app server whose clock runs
      // ahead would otherwise forget Idempotency-Keys early and let a late retry act twice.
      const now = (options.clock?.() ?? (await databaseNow(db))).getTime();
      const deleted = await deleteKeysBefore(db, new Date(now - IDEMPOTENCY_RETENTION_DAYS * 86_400_000));
      const marks = await deleteExpiredMarks(db, new Date(now));
      const runs = await deleteOldRuns(db, new Date(now - RUN_RETENTION_DAYS * 86_400_000));
      if (deleted + marks + runs > 0) helpers.logger.info(`deleted ${deleted} expired idempotency keys, ${marks} lifecycle marks, ${runs} old runs`);
    },
    [TASKS.outbox]: async (_payload, helpers) => {
      const result = await dispatchOutbox(db, { batchSize: options.outboxBatchSize, budgetMs: options.sweepBudgetMs }, log);
      if (result.deliveries > 0) await helpers.addJob(TASKS.deliver, {}, { jobKey: TASKS.deliver, maxAttempts: 1 });
      if (result.messages > 0) await helpers.addJob(TASKS.messages, {}, { jobKey: TASKS.messages, maxAttempts: 1 });
      if (result.more) await helpers.addJob(TASKS.outbox, {}, { jobKey: TASKS.outbox, maxAttempts: 1 });
    },
    [TASKS.deliver]: async (_payload, helpers) => {
      const result = await deliverDue(db, options);
      if (result.gaveUp > 0 || result.disabledEndpoints.length > 0) {
        helpers.logger.warn(`webhooks: ${result.gaveUp} deliveries given up; endpoints disabled: ${result.disabledEndpoints.join(', ') || 'none'}`);
      }
      await wakeAt(helpers, TASKS.deliver, result.retryAt);
      if (result.more) await helpers.addJob(TASKS.deliver, {}, { jobKey: TASKS.deliver, maxAttempts: 1 });
    },
    [TASKS.messages]: async (_payload, helpers) => {
      const result = await sendDueMessages(db, options, (error) => log('error', `message: ${(error as Error).stack ?? error}`));
      await wakeAt(helpers, TASKS.messages, result.retryAt);
      if (result.more) await helpers.addJob(TASKS.messages, {}, { jobKey: TASKS.messages, maxAttempts: 1 });
    },
    [TASKS.schedule]: async (_payload, helpers) => {
      const { enqueued, restarted } = await scheduleDailyRuns(db, { now: options.clock?.(), staleAfterMs: options.runStaleAfterMs });
      if (restarted.length > 0) helpers.logger.warn(`restarted stalled daily runs: ${JSON.stringify(restarted)}`);
      if (enqueued.length > 0) helpers.logger.info(`daily runs enqueued: ${enqueued.length}`);
    },
    [TASKS.programJob]: async (payload, helpers) => {
      await runProgramJob(db, payload as RunSpec, { clock: options.clock, log: (m) => helpers.logger.warn(m) });
    },
  };
}

// Every minute: vesting, reservation timeouts and expiry are each idempotent, so a late or
// doubled run changes nothing; graphile-worker's cron backfills a missed minute after downtime.
// The outbox, delivery and message sweeps are woken at once by NOTIFY; their per-minute runs
// only cover a worker that was not listening. The scheduler checks every minute which programs
// have reached the local time of their daily jobs.
export const CRONTAB = [
  '* * * * * ledger_maintenance ?max=1&jobKey=ledger_maintenance&fill=10m',
  '17 * * * * idempotency_cleanup ?max=1&jobKey=idempotency_cleanup',
  `* * * * * ${TASKS.schedule} ?max=1&jobKey=${TASKS.schedule}&fill=5m`,
  `* * * * * ${TASKS.outbox} ?max=1&jobKey=${TASKS.outbox}`,
  `* * * * * ${TASKS.deliver} ?max=1&jobKey=${TASKS.deliver}`,
  `* * * * * ${TASKS.messages} ?max=1&jobKey=${TASKS.messages}`,
  REWARDS_CRONTAB,
  TIERS_CRONTAB,
  EARNING_CRONTAB,
].join('\n');

const WAKE: Record<string, string> = { outbox: TASKS.outbox, deliveries: TASKS.deliver, messages: TASKS.messages };

/**
 * LISTENs for "something to do" notifications (an event committed, a redelivery asked for) and
 * turns them into jobs at once. Reconnects after a lost connection, and then wakes every sweep,
 * since notifications sent while it was down are lost (the per-minute sweeps would find that work
 * too, but up to a minute late).
 */
function listen(connectionString: string, wake: (task: string) => void, log: Log, caughtUp: () => void) {
  let client: pg.Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let listenedBefore = false;
  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString });
    client = c;
    c.on('notification', (msg) => {
      const task = WAKE[msg.payload ?? ''];
      if (task) wake(task);
    });
    c.on('error', (error) => {
      log('warning', `worker listener: ${error.message}; reconnecting`);
      void c.end().catch(() => {});
      if (!stopped) timer = setTimeout(() => void connect(), 1_000);
    });
    try {
      await c.connect();
      await c.query('listen laurel_worker');
      if (listenedBefore) caughtUp();
      listenedBefore = true;
    } catch (error) {
      log('warning', `worker listener could not connect: ${(error as Error).message}; retrying`);
      void c.end().catch(() => {});
      if (!stopped) timer = setTimeout(() => void connect(), 1_000);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await client?.end().catch(() => {});
  };
}

const SETTLES_JOBS = /^\s*(?:with j as \(\s*)?(?:delete from|update) \S+\._private_jobs as jobs\s/;

/**
 * Whether a statement is one of graphile-worker 0.17's that settle jobs already taken: complete
 * (delete by id), fail, return or unlock (updates of jobs still locked by this worker, or stale).
 * Each can run twice without harm — the second run finds the job gone or no longer locked by us —
 * so the worker's pool sends them again after a lost connection. Taking a job ("with j as
 * (select … for update skip locked) update …") is not one of them: run twice, it takes two.
 */
export function settlesJobs(query: unknown): boolean {
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  return typeof text === 'string' && SETTLES_JOBS.test(text);
}

/**
 * Starts the background worker: graphile-worker with Laurel's tasks and crontab, plus a listener
 * that wakes the sweeps on NOTIFY. Runs inside `npm start` (LAUREL_WORKER=inline) or alone as
 * `npm run worker`. `options` may be a number (the concurrency) or any WorkerOptions.
 */
export async function startWorker(db: Db, connectionString: string, log: Log, options: number | Partial<WorkerOptions> = {}): Promise<Runner> {
  const resolved = workerOptionsFromEnv(process.env, typeof options === 'number' ? { concurrency: options } : options);
  // The worker's own pool, so that a connection the server ends while idle (a restart, a failover,
  // a dropped database) is logged and replaced instead of crashing the process as an unhandled
  // 'error' event; and a patient one, so that the jobs finished during an outage are marked done
  // once the database is back instead of rejecting unhandled (PatientPool says why).
  const pgPool = new PatientPool({ connectionString, max: resolved.concurrency + 2 }, { log, repeatable: settlesJobs });
  pgPool.on('error', (error) => log('warning', `worker database connection lost: ${error.message}`));
  pgPool.on('connect', (client) => client.on('error', () => {}));
  let runner: Runner;
  try {
    runner = await run({
      pgPool,
      concurrency: resolved.concurrency,
      noHandleSignals: true,
      pollInterval: resolved.pollIntervalMs,
      taskList: taskList(db, resolved, log),
      crontab: CRONTAB,
      logger: new Logger(() => (level, message) => {
        if (level !== 'debug') log(level, message);
      }),
    });
  } catch (error) {
    await pgPool.end().catch(() => {});
    throw error;
  }
  const pending = new Map<string, NodeJS.Timeout>();
  const wake = (task: string) => {
    // A burst of commits becomes one job.
    if (pending.has(task)) return;
    pending.set(task, setTimeout(() => {
      pending.delete(task);
      runner.addJob(task, {}, { jobKey: task, maxAttempts: 1 }).catch((error: Error) => log('warning', `could not wake ${task}: ${error.message}`));
    }, 20));
  };
  // Whatever was left by a previous worker (or written while none ran, or while the listener was
  // reconnecting) is picked up now.
  const catchUp = () => {
    for (const task of [TASKS.outbox, TASKS.deliver, TASKS.messages, TASKS.schedule]) wake(task);
  };
  const stopListening = listen(connectionString, wake, log, catchUp);
  catchUp();
  const stopRunner = runner.stop.bind(runner);
  runner.stop = async (reason?: string) => {
    pgPool.stopWaiting();
    await stopListening();
    for (const timer of pending.values()) clearTimeout(timer);
    pending.clear();
    await stopRunner(reason);
    await pgPool.end().catch(() => {});
    closeEmailTransports();
  };
  return runner;
}
