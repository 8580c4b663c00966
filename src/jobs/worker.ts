import { Logger, run, type Runner, type TaskList } from 'graphile-worker';
import type { Db } from '../db/database.ts';
import { deleteKeysBefore } from '../idempotency/idempotency-repository.ts';
import { runDueMaintenance } from '../ledger/ledger-maintenance.ts';

/** How long a stored response stays replayable for its Idempotency-Key. */
export const IDEMPOTENCY_RETENTION_DAYS = 30;

export function taskList(db: Db): TaskList {
  return {
    ledger_maintenance: async (_payload, helpers) => {
      const result = await runDueMaintenance(db);
      if (result.lotsExpired > 0 || result.members > 0) helpers.logger.info(`ledger maintenance: ${JSON.stringify(result)}`);
    },
    idempotency_cleanup: async (_payload, helpers) => {
      const deleted = await deleteKeysBefore(db, new Date(Date.now() - IDEMPOTENCY_RETENTION_DAYS * 86_400_000));
      if (deleted > 0) helpers.logger.info(`deleted ${deleted} expired idempotency keys`);
    },
  };
}

// Every minute: vesting, reservation timeouts and expiry are each idempotent, so a late or
// doubled run changes nothing; graphile-worker's cron backfills a missed minute after downtime.
export const CRONTAB = [
  '* * * * * ledger_maintenance ?max=1&jobKey=ledger_maintenance&fill=10m',
  '17 * * * * idempotency_cleanup ?max=1&jobKey=idempotency_cleanup',
].join('\n');

export async function startWorker(db: Db, connectionString: string, log: (level: string, message: string) => void, concurrency = 2): Promise<Runner> {
  return run({
    connectionString,
    concurrency,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: taskList(db),
    crontab: CRONTAB,
    logger: new Logger(() => (level, message) => {
      if (level !== 'debug') log(level, message);
    }),
  });
}
