import type { RuleConfig } from './rule-config.ts';

export interface ProgressStatus {
  /** Spend (threshold, minor units) or count (challenge) accumulated in the period. */
  progress: number;
  /** Times the goal was reached (a threshold with carry-over can be reached many times). */
  reached: number;
  /** Points those reaches are worth. */
  points: number;
  /** The goal: amount per threshold step, or the challenge target. */
  goal: number;
  /** What is missing to the next reach; null when a one-time challenge is complete. */
  toNext: number | null;
  complete: boolean;
}

/**
 * Where a member stands on a threshold ("a reward for every 50.00 spent", remainder carried to
 * the next one) or a challenge ("buy 3 times this week"). Refunds lower `progress`, and with it
 * `reached`: the bonus of a step that is no longer reached is taken back.
 */
export function progressStatus(kind: 'threshold' | 'challenge', cfg: RuleConfig, progress: number): ProgressStatus {
  if (kind === 'threshold') {
    const every = cfg.everyAmountMinor!;
    const reached = Math.floor(progress / every);
    return { progress, reached, points: reached * cfg.points!, goal: every, toNext: every - (progress - reached * every), complete: false };
  }
  const target = cfg.target!;
  const reached = cfg.repeat ? Math.floor(progress / target) : progress >= target ? 1 : 0;
  const complete = !cfg.repeat && reached === 1;
  return { progress, reached, points: reached * cfg.points!, goal: target, toNext: complete ? null : target - (progress % target), complete };
}
