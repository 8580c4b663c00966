import { databaseUnavailable } from '../http/database-unavailable.ts';

/** What to do with an unhandled rejection or an uncaught exception. */
export type GuardDecision = 'ignore' | 'warn' | 'exit';

/**
 * The policy, pure so that it can be tested. While stopping, nothing matters any more: connections
 * die as the database stops with us. An unhandled rejection that only says "the database cannot be
 * reached" comes from a library that let a failed query go (graphile-worker's job completion, for
 * one): the pools reconnect by themselves once the server is back, so exiting would turn a
 * database restart into an outage of the whole process. Anything else is a bug whose consequences
 * are unknown: exit, as Node does by default.
 */
export function guardDecision(kind: 'rejection' | 'exception', reason: unknown, stopping: boolean): GuardDecision {
  if (stopping) return 'ignore';
  if (kind === 'rejection' && typeof reason === 'object' && reason !== null && databaseUnavailable(reason)) return 'warn';
  return 'exit';
}

function stackOf(reason: unknown): string {
  return reason instanceof Error ? reason.stack ?? reason.message : String(reason);
}

/**
 * Installs the process-level handlers of `npm start`, `npm run worker` and the benchmark's server
 * (guardDecision says what they do). `stopping` is asked at the time of each failure.
 */
export function processGuards(options: { stopping?: () => boolean; write?: (line: string) => void } = {}) {
  const stopping = options.stopping ?? (() => false);
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  process.on('unhandledRejection', (reason) => {
    const decision = guardDecision('rejection', reason, stopping());
    if (decision === 'ignore') return;
    if (decision === 'warn') {
      const message = reason instanceof Error ? reason.message : String(reason);
      write(`warning: database unavailable (unhandled rejection, going on; connections recover by themselves): ${message}`);
      return;
    }
    write(`unhandled rejection: ${stackOf(reason)}`);
    process.exit(1);
  });
  process.on('uncaughtException', (error) => {
    if (guardDecision('exception', error, stopping()) === 'ignore') return;
    write(`uncaught exception: ${stackOf(error)}`);
    process.exit(1);
  });
}
