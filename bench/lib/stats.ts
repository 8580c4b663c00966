/** Latencies in ms, appended cheaply. */
export class Samples {
  private values = new Float64Array(1 << 16);
  length = 0;
  push(value: number) {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = value;
  }
  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return NaN;
  const s = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Beyond this factor apart, two processes of the same code are not measuring alike. */
export const SAME_CODE_TOLERANCE = 1.25;

/**
 * Two processes of the same code compared on the same work: the factor between their CPU per
 * request, and whether one of them runs slow (apart by more than SAME_CODE_TOLERANCE either way).
 */
export function sameCodeCheck(firstUs: number, secondUs: number): { factor: number; slow: boolean } {
  if (!(firstUs > 0 && secondUs > 0)) throw new RangeError(`CPU per request must be positive: ${firstUs}, ${secondUs}`);
  const factor = firstUs / secondUs;
  return { factor, slow: Math.max(factor, 1 / factor) > SAME_CODE_TOLERANCE };
}
