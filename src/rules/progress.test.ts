import { describe, expect, it } from 'vitest';
import { progressStatus } from './progress.ts';

describe('progressStatus', () => {
  it('carries the remainder of a threshold to the next step', () => {
    const cfg = { everyAmountMinor: 5000, points: 100 };
    expect(progressStatus('threshold', cfg, 4999)).toMatchObject({ reached: 0, points: 0, toNext: 1 });
    expect(progressStatus('threshold', cfg, 12_000)).toMatchObject({ reached: 2, points: 200, toNext: 3000, complete: false });
  });

  it('completes a one-time challenge once, a repeating one each time', () => {
    expect(progressStatus('challenge', { target: 3, points: 50 }, 2)).toMatchObject({ reached: 0, toNext: 1, complete: false });
    expect(progressStatus('challenge', { target: 3, points: 50 }, 7)).toMatchObject({ reached: 1, points: 50, toNext: null, complete: true });
    expect(progressStatus('challenge', { target: 3, points: 50, repeat: true }, 7)).toMatchObject({ reached: 2, points: 100, toNext: 2, complete: false });
  });
});
