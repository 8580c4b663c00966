/**
 * The garbage collector's time in a server the benchmark started with `--trace-gc`, read from the
 * lines V8 prints for every collection. A `PerformanceObserver` on `gc` entries inside the server
 * would see the pauses but not the incremental marking steps of a full collection, which V8 runs
 * in small slices between them (50–70 ms per full collection under earns, 2026-12-07, with Fastify
 * 5.6): this trace reports both, and it needs no code in the process measured.
 */

/** One collection as `--trace-gc` reports it. */
export interface GcEvent {
  kind: 'scavenge' | 'full' | 'other';
  /** The main thread's pause, in ms. */
  pauseMs: number;
  /** A full collection's incremental marking steps before its pause, in ms (0 for the others). */
  incrementalMs: number;
}

// "[pid:0x…]   36 ms: Scavenge 4.1 (4.2) -> 3.4 (5.2) MB, 0.84 / 0.00 ms  (…"; the pause is the first figure after "MB,".
// The name may hold parentheses ("Mark-Compact (reduce)", when V8 shrinks the heap).
const LINE = /^\[\d+:0x[0-9a-f]+\]\s+\d+ ms: (.+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, ([\d.]+) \/ [\d.]+ ms/;
const INCREMENTAL = /\(\+ ([\d.]+) ms in \d+ steps/;

/** The collection a `--trace-gc` line reports, or undefined for any other line. */
export function parseTraceGcLine(line: string): GcEvent | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  const name = match[1]!;
  const kind = name.startsWith('Scavenge') ? 'scavenge' : name.startsWith('Mark-Compact') ? 'full' : 'other';
  return { kind, pauseMs: Number(match[2]), incrementalMs: Number(INCREMENTAL.exec(line)?.[1] ?? 0) };
}

/** What a phase's collections cost, summed. */
export interface GcUse {
  scavenges: number;
  scavengeMs: number;
  fullCollections: number;
  /** Full collections' pauses and their incremental marking steps. */
  fullMs: number;
  /** Every collection's time on the main thread: pauses and incremental steps. */
  totalMs: number;
}

export function sumGc(events: readonly GcEvent[]): GcUse {
  const use: GcUse = { scavenges: 0, scavengeMs: 0, fullCollections: 0, fullMs: 0, totalMs: 0 };
  for (const e of events) {
    const ms = e.pauseMs + e.incrementalMs;
    if (e.kind === 'scavenge') {
      use.scavenges++;
      use.scavengeMs += ms;
    } else if (e.kind === 'full') {
      use.fullCollections++;
      use.fullMs += ms;
    }
    use.totalMs += ms;
  }
  return use;
}

/** A phase's collections per event answered (µs of the main thread), as the benchmark reports them; NaN for a phase without events. */
export function gcPerEvent(use: GcUse, events: number) {
  const per = (ms: number) => (events > 0 ? (ms * 1000) / events : NaN);
  return {
    usPerEvent: per(use.totalMs), scavengeUsPerEvent: per(use.scavengeMs), fullUsPerEvent: per(use.fullMs),
    scavenges: use.scavenges, fullCollections: use.fullCollections,
  };
}

/** Collects the collections of a process's output as it arrives, chunk by chunk (lines may span chunks). */
export class GcTrace {
  private readonly events: GcEvent[] = [];
  private partial = '';

  push(chunk: string) {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      const event = parseTraceGcLine(line);
      if (event) this.events.push(event);
    }
  }

  /** A point in the trace, for `since`. */
  mark(): number {
    return this.events.length;
  }

  since(mark: number): GcUse {
    return sumGc(this.events.slice(mark));
  }
}
