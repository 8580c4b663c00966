import { describe, expect, it } from 'vitest';
import { SAME_CODE_TOLERANCE, sameCodeCheck } from '../../bench/lib/stats.ts';

describe('two processes of the same code', () => {
  it('measure alike within the tolerance, in either order', () => {
    expect(sameCodeCheck(86, 96)).toEqual({ factor: 86 / 96, slow: false });
    expect(sameCodeCheck(96, 86).slow).toBe(false);
    expect(sameCodeCheck(100, 100 * SAME_CODE_TOLERANCE).slow).toBe(false);
  });

  it('call one slow beyond it, whichever side it is', () => {
    // The case met on 2026-12-07: 102-111 µs a read against 75-81.
    expect(sameCodeCheck(106, 78).slow).toBe(true);
    expect(sameCodeCheck(78, 106).slow).toBe(true);
    expect(sameCodeCheck(129, 67)).toEqual({ factor: 129 / 67, slow: true });
  });

  it('refuses a figure that is not a measurement', () => {
    expect(() => sameCodeCheck(0, 80)).toThrow(RangeError);
    expect(() => sameCodeCheck(80, Number.NaN)).toThrow(RangeError);
  });
});
