import path from 'node:path';

export interface Config {
  /** External PostgreSQL server; when absent Laurel starts its embedded one. */
  databaseUrl: string | undefined;
  /** Folder of the embedded PostgreSQL cluster and Laurel's local state. */
  dataDir: string;
  embeddedPgPort: number;
  host: string;
  port: number;
  logLevel: string;
  /** Requests per minute per API key before 429. */
  rateLimitPerMinute: number;
  /** How long a duplicate request waits for the first one holding its Idempotency-Key. */
  idempotencyWaitMs: number;
  bodyLimitBytes: number;
  dbPoolSize: number;
  /**
   * Send statements with parameters as named prepared statements (planned once per connection).
   * Off for a pooler that cannot keep them, e.g. PgBouncer in transaction mode before 1.21.
   */
  dbPrepare: boolean;
  /**
   * Group commit: how many shared transactions of grouped requests (earns, new orders) may run
   * at once; 0 runs every request in a transaction of its own. See docs/architecture.md.
   */
  groupCommitBatches: number;
  /** Group commit: while a batch runs, how many requests must wait before another batch starts. */
  groupCommitMinWhileBusy: number;
  /**
   * Group reads: how many shared statements of concurrent balance reads may run at once; 0 reads
   * every balance in a statement of its own. See docs/architecture.md.
   */
  readBatches: number;
  /** Group reads: while a shared read runs, how many reads must wait before another starts. */
  readMinWhileBusy: number;
  /** Run the background worker inside the API process. */
  runWorker: boolean;
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  }
  return value;
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  const env = process.env;
  return {
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: path.resolve(env.LAUREL_DATA_DIR ?? '.laurel'),
    embeddedPgPort: intFromEnv('LAUREL_PG_PORT', 54329),
    host: env.HOST ?? '127.0.0.1',
    port: intFromEnv('PORT', 3000),
    logLevel: env.LOG_LEVEL ?? 'info',
    rateLimitPerMinute: intFromEnv('LAUREL_RATE_LIMIT_PER_MINUTE', 60_000),
    idempotencyWaitMs: intFromEnv('LAUREL_IDEMPOTENCY_WAIT_MS', 5_000),
    bodyLimitBytes: intFromEnv('LAUREL_BODY_LIMIT_BYTES', 1_048_576),
    dbPoolSize: intFromEnv('LAUREL_DB_POOL_SIZE', 20),
    dbPrepare: (env.LAUREL_DB_PREPARE ?? 'on') !== 'off',
    groupCommitBatches: intFromEnv('LAUREL_GROUP_COMMIT_BATCHES', 2),
    groupCommitMinWhileBusy: intFromEnv('LAUREL_GROUP_COMMIT_MIN_WHILE_BUSY', 16),
    readBatches: intFromEnv('LAUREL_READ_BATCHES', 2),
    readMinWhileBusy: intFromEnv('LAUREL_READ_MIN_WHILE_BUSY', 8),
    runWorker: (env.LAUREL_WORKER ?? 'inline') === 'inline',
    ...overrides,
  };
}
