import type { CpuUse } from './cpu-meter.ts';
import type { gcPerEvent } from './gc-trace.ts';
import { percentile, Samples } from './stats.ts';

export interface LoadResult {
  seconds: number;
  /** Requests answered as expected (per `ok`). */
  ok: number;
  failed: number;
  networkErrors: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
  /** Where the phase's CPU went, when it was measured (bench/run.ts). */
  cpu?: CpuUse;
  /**
   * The server's garbage collections during the phase, when it ran with `--trace-gc`
   * (bench/lib/gc-trace.ts): main-thread time per event answered as expected, pauses and
   * incremental marking steps, and how many collections of each kind.
   */
  gc?: ReturnType<typeof gcPerEvent>;
}

/**
 * `concurrency` closed-loop workers, each sending its next request as soon as the previous one is
 * answered, for `durationMs`. Only the answers `work` reports as ok count toward throughput and
 * latency; the others are counted by status.
 */
export async function closedLoop(options: {
  concurrency: number;
  durationMs: number;
  work: (worker: number, n: number) => Promise<{ ok: boolean; status: string }>;
}): Promise<LoadResult> {
  const latencies = new Samples();
  const statuses: Record<string, number> = {};
  let failed = 0;
  let networkErrors = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(Array.from({ length: options.concurrency }, async (_, worker) => {
    for (let n = 0; performance.now() < deadline; n++) {
      const t0 = performance.now();
      try {
        const { ok, status } = await options.work(worker, n);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (ok) latencies.push(performance.now() - t0);
        else failed++;
      } catch {
        networkErrors++;
        statuses.network = (statuses.network ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.sorted();
  return {
    seconds, ok: latencies.length, failed, networkErrors, perSecond: latencies.length / seconds,
    p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), statuses,
  };
}
