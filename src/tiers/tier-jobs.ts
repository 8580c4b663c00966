import type { Task, TaskList } from 'graphile-worker';
import type { Db } from '../db/database.ts';
import { reviewAllTiers } from './tier-review.ts';
// Registers the tier progress provider of lifecycle messages in the worker that imports this module.
import './tier-progress-provider.ts';

/**
 * The scheduled tier review: every program with a ladder, everything due (reviews at window
 * ends and anniversaries, grace periods, locks, floors, invitations, paid memberships). Hourly,
 * so a 1 January review lands within the hour; reads already apply ended locks and memberships
 * at once, the job records the changes. Idempotent and resumable: see reviewTiers().
 */
export function tierTasks(db: Db, options: { clock?: () => Date | undefined } = {}): TaskList {
  const review: Task = async (_payload, helpers) => {
    const results = await reviewAllTiers(db, { now: options.clock?.() });
    const busy = results.filter((r) => r.members > 0);
    if (busy.length > 0) helpers.logger.info(`tier review: ${JSON.stringify(busy)}`);
  };
  return { tier_review: review };
}

export const TIERS_CRONTAB = '7 * * * * tier_review ?max=1&jobKey=tier_review&fill=2h';
