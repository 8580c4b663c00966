import { DEFAULT_MESSAGE_SCHEDULE_MS, DEFAULT_WEBHOOK_SCHEDULE_MS, parseSchedule } from './retry-schedule.ts';

/** Settings of the background worker; every one has an environment variable (docs/webhooks.md). */
export interface WorkerOptions {
  /** Jobs run at once by one worker process. */
  concurrency: number;
  /** Delays before each webhook retry (LAUREL_WEBHOOK_RETRY_SCHEDULE, e.g. "5s,5m,30m,2h,5h,10h,10h"). */
  webhookRetryScheduleMs: number[];
  /** Retries are spread by ±this fraction. */
  webhookRetryJitter: number;
  webhookTimeoutMs: number;
  /** A claimed delivery is someone else's to retry after this long (a crashed worker's lease runs out). */
  webhookLeaseMs: number;
  /** Deliveries sent at once by one sweep. */
  webhookParallelism: number;
  /** Disable an endpoint when a delivery is given up and the endpoint had no success since it started failing. */
  disableFailingEndpoints: boolean;
  messageRetryScheduleMs: number[];
  messageLeaseMs: number;
  /** SMTP server used when a program has none of its own: smtp://user:pass@host:port (smtps:// for TLS). */
  smtpUrl: string | undefined;
  smtpFrom: string | undefined;
  /** Base of the links in messages (unsubscribe). */
  publicUrl: string;
  outboxBatchSize: number;
  /** A scheduled per-program run without a heartbeat for this long is started again. */
  runStaleAfterMs: number;
  /** How long one sweep job works before handing over to a fresh job. */
  sweepBudgetMs: number;
  /** How often the worker looks for due retries without being woken. */
  pollIntervalMs: number;
  /** Tests move time; production uses the database clock. */
  clock?: () => Date | undefined;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

export function workerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<WorkerOptions> = {}): WorkerOptions {
  const host = env.HOST ?? '127.0.0.1';
  const port = env.PORT ?? '3000';
  return {
    concurrency: int(env, 'LAUREL_WORKER_CONCURRENCY', 4),
    webhookRetryScheduleMs: env.LAUREL_WEBHOOK_RETRY_SCHEDULE !== undefined ? parseSchedule(env.LAUREL_WEBHOOK_RETRY_SCHEDULE) : DEFAULT_WEBHOOK_SCHEDULE_MS,
    webhookRetryJitter: env.LAUREL_WEBHOOK_RETRY_JITTER !== undefined ? Number(env.LAUREL_WEBHOOK_RETRY_JITTER) : 0.1,
    webhookTimeoutMs: int(env, 'LAUREL_WEBHOOK_TIMEOUT_MS', 15_000),
    webhookLeaseMs: int(env, 'LAUREL_WEBHOOK_LEASE_MS', 60_000),
    webhookParallelism: Math.max(1, int(env, 'LAUREL_WEBHOOK_PARALLELISM', 10)),
    disableFailingEndpoints: (env.LAUREL_WEBHOOK_DISABLE_FAILING ?? 'true') !== 'false',
    messageRetryScheduleMs: env.LAUREL_MESSAGE_RETRY_SCHEDULE !== undefined ? parseSchedule(env.LAUREL_MESSAGE_RETRY_SCHEDULE) : DEFAULT_MESSAGE_SCHEDULE_MS,
    messageLeaseMs: int(env, 'LAUREL_MESSAGE_LEASE_MS', 120_000),
    smtpUrl: env.LAUREL_SMTP_URL || undefined,
    smtpFrom: env.LAUREL_SMTP_FROM || undefined,
    publicUrl: (env.LAUREL_PUBLIC_URL || `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`).replace(/\/+$/, ''),
    outboxBatchSize: Math.max(1, int(env, 'LAUREL_OUTBOX_BATCH_SIZE', 500)),
    runStaleAfterMs: int(env, 'LAUREL_RUN_STALE_AFTER_MS', 5 * 60_000),
    sweepBudgetMs: int(env, 'LAUREL_SWEEP_BUDGET_MS', 60_000),
    pollIntervalMs: Math.max(50, int(env, 'LAUREL_WORKER_POLL_MS', 1_000)),
    ...overrides,
  };
}
