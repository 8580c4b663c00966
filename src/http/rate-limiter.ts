/**
 * Requests per API key in fixed windows: a key's window opens with its first request and lasts
 * `windowMs`; within it, `max` requests pass. Counted in this process (each API server limits on
 * its own, like its key cache, docs/programs.md).
 *
 * It replaced @fastify/rate-limit, which did the same but cost a request several promises and
 * microtask turns (its hook, key generator and store are all asynchronous): 4 % of the balance
 * reads' throughput in turns (docs/benchmarks.md). This one decides synchronously.
 */
export interface RateDecision {
  allowed: boolean;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Whole seconds until the window closes (at least 1). */
  resetSeconds: number;
}

interface Window {
  count: number;
  endsAtMs: number;
}

export function createRateLimiter(options: { max: number; windowMs: number; now?: () => number }) {
  if (!(Number.isSafeInteger(options.max) && options.max >= 1 && options.windowMs >= 1)) throw new Error('a rate limit needs max ≥ 1 and a window ≥ 1 ms');
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  let sweepAtMs = 0;

  /** Forgets closed windows, at most once a window: the map holds only keys seen recently. */
  function sweep(at: number) {
    if (at < sweepAtMs) return;
    sweepAtMs = at + options.windowMs;
    for (const [key, w] of windows) if (w.endsAtMs <= at) windows.delete(key);
  }

  return {
    max: options.max,
    /** Counts one request of `key` and says whether it may pass. */
    take(key: string): RateDecision {
      const at = now();
      sweep(at);
      let w = windows.get(key);
      if (!w || w.endsAtMs <= at) {
        w = { count: 0, endsAtMs: at + options.windowMs };
        windows.set(key, w);
      }
      w.count++;
      return { allowed: w.count <= options.max, remaining: Math.max(0, options.max - w.count), resetSeconds: Math.max(1, Math.ceil((w.endsAtMs - at) / 1000)) };
    },
    /** Keys with an open or not yet forgotten window (for tests). */
    get size() {
      return windows.size;
    },
  };
}
