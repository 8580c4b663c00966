/**
 * A sweep of due work: `lanes` loops side by side, each taking one item at a time (`step`
 * returns false when nothing is left to take), until the work runs out or `budgetMs` is spent.
 * `more` says the budget ran out first: the caller schedules another sweep instead of holding
 * its job for ever.
 */
export async function sweepLanes(lanes: number, budgetMs: number, step: () => Promise<boolean>): Promise<{ more: boolean }> {
  const started = Date.now();
  let more = false;
  const lane = async () => {
    for (;;) {
      if (Date.now() - started > budgetMs) {
        more = true;
        return;
      }
      if (!(await step())) return;
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return { more };
}
