import type { TaskList } from 'graphile-worker';
import { databaseNow, type Db } from '../db/database.ts';
import { ProblemError } from '../http/error-codes.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { localTime } from '../rules/local-time.ts';
import { actionTypes, rulesInForce } from '../rules/rule-operations.ts';
import { recordAction } from './action-operations.ts';
import { membersWithBirthday, programsWithActionRule } from './action-repository.ts';
import { findProgram } from '../programs/program-repository.ts';

const BIRTHDAY = 'birthday';

/**
 * Records a "birthday" action for every active member whose birthday is today in their
 * program's time zone, in programs with a birthday action rule in force. Hourly and idempotent:
 * the action's reference is the year, so a member is rewarded once per birthday however often it
 * runs; each member is its own transaction, so a crash only redoes the rest.
 */
export async function awardBirthdays(db: Db, options: { now?: Date; batchSize?: number } = {}) {
  const now = options.now ?? (await databaseNow(db));
  const batchSize = options.batchSize ?? 500;
  let awarded = 0;
  for (const programId of await programsWithActionRule(db, BIRTHDAY)) {
    const program = await findProgram(db, programId);
    if (!program) continue;
    if (!actionTypes(await rulesInForce(db, programId, now)).has(BIRTHDAY)) continue;
    const local = localTime(now, program.time_zone);
    const leapYear = new Date(Date.UTC(local.year, 1, 29)).getUTCMonth() === 1;
    let after: string | null = null;
    for (;;) {
      const members = await membersWithBirthday(db, programId, { month: local.month, day: local.day, leapYear }, after, batchSize);
      if (members.length === 0) break;
      for (const { id } of members) {
        after = id;
        try {
          const result = await inTransaction(db, (trx) => recordAction(
            { trx, program: { id: program.id, time_zone: program.time_zone, reversal_policy: program.reversal_policy }, now, actor: 'system' },
            { memberId: id, type: BIRTHDAY, occurredAt: now.toISOString(), reference: { type: 'birthday', id: String(local.year) } },
          ));
          if (!result.duplicate && Object.keys(result.action.points).length > 0) awarded++;
        } catch (error) {
          // A member blocked or changed meanwhile is skipped; anything else is a real failure.
          if (!(error instanceof ProblemError)) throw error;
        }
      }
    }
  }
  return { awarded };
}

export function earningTasks(db: Db, options: { clock?: () => Date | undefined } = {}): TaskList {
  return {
    earning_birthdays: async (_payload, helpers) => {
      const result = await awardBirthdays(db, { now: options.clock?.() });
      if (result.awarded > 0) helpers.logger.info(`birthday points: ${result.awarded} members`);
    },
  };
}

export const EARNING_CRONTAB = '23 * * * * earning_birthdays ?max=1&jobKey=earning_birthdays&fill=2h';
