import { grantReward } from '../rewards/redemption-operations.ts';
import { grantTierBirthdayGift } from '../tiers/tier-operations.ts';
import { databaseNow, type Db } from '../db/database.ts';
import { recordEvent } from '../events/event-repository.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { zonedMidnight } from '../ledger/expiry-policy.ts';
import { earn } from '../ledger/ledger-operations.ts';
import { effectiveSettings, dailyMinute, reminderDaysFor } from '../notifications/lifecycle-settings.ts';
import { addDays, daysBetween, localDateOf } from '../notifications/locale-format.ts';
import { dailyProgramJob, dailyProgramJobs, registerDailyProgramJob, type DailyJobContext } from './job-registry.ts';
import * as repo from './lifecycle-repository.ts';
import { atRiskDecision, birthdayDaysFor, reminderWindow } from './lifecycle-rules.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';
import { findProgram } from '../programs/program-repository.ts';

const DAY_MS = 86_400_000;
const DEFAULT_BATCH = 500;

/** Tests use it to stop a run half-way, as a crash would. */
export interface BatchObserver {
  batchSize?: number;
  afterBatch?(job: string, batch: number): void | Promise<void>;
}

let observer: BatchObserver = {};
export function observeBatches(next: BatchObserver) {
  observer = next;
}
const batchSize = () => observer.batchSize ?? DEFAULT_BATCH;

// ---------------------------------------------------------------- points expiring soon

export async function expiringReminders(ctx: DailyJobContext) {
  const { db, program, settings, now } = ctx;
  // Every wallet counts, "never" ones too: a lot can carry its own expiry.
  const wallets = (await repo.walletIdsByCode(db, program.id)).filter((w) => reminderDaysFor(settings, w.code).length > 0);
  if (wallets.length === 0) return;
  const maxDays = Math.max(...wallets.flatMap((w) => reminderDaysFor(settings, w.code)));
  const today = localDateOf(now, program.time_zone);
  // A lot whose last day is N local days ahead expires at most N + 1 days (and a DST hour) from now.
  const horizon = new Date(now.getTime() + (maxDays + 2) * DAY_MS);
  let afterMember: string | null = null;
  for (let batch = 1; ; batch++) {
    const groups = await repo.expiringGroups(db, {
      programId: program.id, timeZone: program.time_zone, now, horizon, walletIds: wallets.map((w) => w.id), afterMember, limit: batchSize(),
    });
    if (groups.length === 0) return;
    afterMember = groups[groups.length - 1]!.member_id;
    const due = groups.flatMap((g) => {
      const daysLeft = daysBetween(today, g.last_day);
      const window = reminderWindow(reminderDaysFor(settings, g.wallet), daysLeft);
      if (window === null || g.amount < settings.expiringReminders.minPoints) return [];
      return [{ ...g, daysLeft, window, key: `expiring:${g.member_id}:${g.wallet}:${g.last_day}:${window}` }];
    });
    await inTransaction(db, async (trx) => {
      const fresh = await repo.insertMarks(trx, program.id, due.map((d) => ({ key: d.key, member_id: d.member_id, expires_at: new Date(d.expires_at.getTime() + 2 * DAY_MS) })));
      for (const d of due.filter((x) => fresh.has(x.key))) {
        await recordEvent(trx, program.id, 'points.expiring_soon', d.member_id, {
          memberId: d.member_id, wallet: d.wallet, amount: d.amount, expiresAt: d.expires_at.toISOString(), lastDay: d.last_day,
          daysLeft: d.daysLeft, reminderDays: d.window,
        });
      }
    });
    await ctx.heartbeat();
    await observer.afterBatch?.('expiring_reminders', batch);
  }
}

// ---------------------------------------------------------------- birthdays

export async function birthdays(ctx: DailyJobContext) {
  const { db, program, settings, now, localDate } = ctx;
  const { month, days } = birthdayDaysFor(localDate);
  const year = localDate.slice(0, 4);
  let points = settings.birthday.points;
  const wallets = await repo.walletIdsByCode(db, program.id);
  if (points > 0 && !wallets.some((w) => w.code === settings.birthday.wallet)) {
    ctx.log(`birthday gift wallet "${settings.birthday.wallet}" does not exist in program ${program.id}: sending greetings without points`);
    points = 0;
  }
  let afterId: string | null = null;
  for (let batch = 1; ; batch++) {
    const members = await repo.birthdayMembers(db, program.id, month, days, afterId, batchSize());
    if (members.length === 0) return;
    afterId = members[members.length - 1]!.id;
    for (const member of members) {
      try {
        // One member per transaction: the gift locks that member's wallet, never a whole batch.
        await inTransaction(db, async (trx) => {
          const key = `birthday:${member.id}:${year}`;
          const fresh = await repo.insertMarks(trx, program.id, [{ key, member_id: member.id, expires_at: new Date(now.getTime() + 400 * DAY_MS) }]);
          if (!fresh.has(key)) return;
          let reward: { wallet: string; amount: number; operationId: string } | null = null;
          const ledgerCtx = await openLedgerContext(trx, program.id, 'system:birthday', () => now);
          if (points > 0) {
            const result = await earn(ledgerCtx, {
              memberId: member.id, wallet: settings.birthday.wallet, amount: points, pendingUntil: null,
              reference: { type: 'birthday', id: year }, description: `Birthday gift ${year}`,
            });
            reward = { wallet: settings.birthday.wallet, amount: points, operationId: result.operation.id };
          }
          // The member's tier may give its own birthday gift (points and/or a catalog reward), once a year.
          const tierGift = await grantTierBirthdayGift(ledgerCtx, { memberId: member.id, year: Number(year) });
          if (tierGift.granted && tierGift.gift?.rewardCode) await grantReward(ledgerCtx, { memberId: member.id, rewardCode: tierGift.gift.rewardCode });
          await recordEvent(trx, program.id, 'member.birthday', member.id, { memberId: member.id, date: localDate, birthday: member.birthday, reward });
        });
      } catch (error) {
        // E.g. the member was blocked meanwhile: nothing was written for them; the others go on.
        ctx.log(`birthday of member ${member.id} skipped: ${(error as Error).message}`);
      }
    }
    await ctx.heartbeat();
    await observer.afterBatch?.('birthdays', batch);
  }
}

// ---------------------------------------------------------------- at risk

export async function atRisk(ctx: DailyJobContext) {
  const { db, program, settings, now } = ctx;
  const source = (await repo.ordersTableExists(db)) ? 'orders' : 'earns';
  let afterId: string | null = null;
  for (let batch = 1; ; batch++) {
    const stats = await repo.purchaseStats(db, program.id, afterId, batchSize(), source);
    if (stats.length === 0) return;
    afterId = stats[stats.length - 1]!.member_id;
    const due = stats.flatMap((s) => {
      const decision = atRiskDecision({ purchases: s.purchases, firstAt: s.first_at, lastAt: s.last_at, lastActivityAt: s.last_activity_at, now }, settings.atRisk);
      // Once per lapse: a new purchase moves lastAt, and a later lapse is a new one.
      return decision ? [{ s, decision, key: `at_risk:${s.member_id}:${decision.lastAt.toISOString()}` }] : [];
    });
    await inTransaction(db, async (trx) => {
      const fresh = await repo.insertMarks(trx, program.id, due.map((d) => ({ key: d.key, member_id: d.s.member_id, expires_at: null })));
      for (const { s, decision } of due.filter((d) => fresh.has(d.key))) {
        await recordEvent(trx, program.id, 'member.at_risk', s.member_id, {
          memberId: s.member_id, lastPurchaseAt: decision.lastAt.toISOString(), daysSinceLastPurchase: decision.daysSince,
          usualIntervalDays: decision.usualIntervalDays, thresholdDays: decision.thresholdDays, basis: decision.basis, purchases: s.purchases,
          source: s.purchases > 0 ? source : 'activity',
        });
      }
    });
    await ctx.heartbeat();
    await observer.afterBatch?.('at_risk', batch);
  }
}

registerDailyProgramJob({ name: 'expiring_reminders', enabled: (s) => s.expiringReminders.enabled, run: expiringReminders });
registerDailyProgramJob({ name: 'birthdays', enabled: (s) => s.birthday.enabled, run: birthdays });
registerDailyProgramJob({ name: 'at_risk', enabled: (s) => s.atRisk.enabled, run: atRisk });

// ---------------------------------------------------------------- scheduling

export interface RunSpec {
  programId: string;
  job: string;
  localDate: string;
}

export type Enqueue = (trx: Parameters<typeof repo.enqueueJob>[0], run: RunSpec) => Promise<void>;

export const PROGRAM_JOB_TASK = 'laurel_program_job';

export const enqueueWithGraphile: Enqueue = (trx, run) =>
  repo.enqueueJob(trx, PROGRAM_JOB_TASK, { ...run }, `${PROGRAM_JOB_TASK}:${run.programId}:${run.job}:${run.localDate}`);

/**
 * Every minute: for each program, the daily jobs whose local time has come today (in the
 * program's time zone) are enqueued once — and yesterday's too if the worker was down then —
 * and runs that stopped heartbeating (their worker died) are enqueued again.
 */
export async function scheduleDailyRuns(db: Db, options: { now?: Date; staleAfterMs: number; enqueue?: Enqueue }) {
  const enqueue = options.enqueue ?? enqueueWithGraphile;
  const now = options.now ?? (await databaseNow(db));
  const enqueued: RunSpec[] = [];
  // Every run of the last days in one read: the per-minute tick writes only for new runs.
  const known = await repo.recentRuns(db, addDays(localDateOf(now, 'UTC'), -3));
  for (const program of await repo.programsForScheduling(db)) {
    const settings = effectiveSettings(program.settings ?? undefined);
    const today = localDateOf(now, program.time_zone);
    const clock = new Intl.DateTimeFormat('en-GB', { timeZone: program.time_zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
    const [h, m] = clock.split(':').map(Number) as [number, number];
    const runAt = (date: string) => {
      const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
      return zonedMidnight(y, mo, d, program.time_zone).getTime() + dailyMinute(settings) * 60_000;
    };
    // Yesterday's run is caught up if it was missed (worker down), unless the program is younger.
    const dates = [addDays(today, -1), ...(h * 60 + m >= dailyMinute(settings) ? [today] : [])]
      .filter((d) => d === today || runAt(d) >= program.created_at.getTime());
    for (const job of dailyProgramJobs()) {
      if (!job.enabled(settings)) continue;
      for (const localDate of dates) {
        if (known.has(`${program.id}/${job.name}/${localDate}`)) continue;
        const run = { programId: program.id, job: job.name, localDate };
        const claimed = await inTransaction(db, async (trx) => {
          if (!(await repo.claimRun(trx, program.id, job.name, localDate))) return false;
          await enqueue(trx, run);
          return true;
        });
        if (claimed) enqueued.push(run);
      }
    }
  }
  const restarted = await inTransaction(db, async (trx) => {
    const stale = await repo.takeStaleRuns(trx, options.staleAfterMs);
    const runs = stale.map((r) => ({ programId: r.program_id, job: r.job, localDate: r.local_date }));
    for (const run of runs) await enqueue(trx, run);
    return runs;
  });
  return { enqueued, restarted };
}

/** One daily job for one program and local date; a completed run is never done again. */
export async function runProgramJob(db: Db, run: RunSpec, options: { clock?: () => Date | undefined; log?: (message: string) => void } = {}) {
  const log = options.log ?? (() => {});
  const row = await repo.findRun(db, run.programId, run.job, run.localDate);
  if (!row || row.completed_at) return { skipped: true };
  const job = dailyProgramJob(run.job);
  const program = await findProgram(db, run.programId);
  if (!job || !program) {
    await repo.finishRun(db, run.programId, run.job, run.localDate, `no ${job ? 'program' : 'job'} named ${job ? run.programId : run.job}`);
    return { skipped: true };
  }
  const stored = await repo.storedSettings(db, program.id);
  await repo.startRun(db, run.programId, run.job, run.localDate);
  try {
    await job.run({
      db, program, localDate: run.localDate, now: options.clock?.() ?? (await databaseNow(db)), settings: effectiveSettings(stored),
      heartbeat: () => repo.heartbeatRun(db, run.programId, run.job, run.localDate), log,
    });
  } catch (error) {
    await repo.finishRun(db, run.programId, run.job, run.localDate, (error as Error).stack ?? String(error));
    throw error;
  }
  await repo.finishRun(db, run.programId, run.job, run.localDate, null);
  return { skipped: false };
}
