import { describe, expect, it } from 'vitest';
import { sweepLanes } from './sweep-lanes.ts';

describe('sweepLanes', () => {
  it('takes every item once, `lanes` at a time, and stops when the work runs out', async () => {
    const items = Array.from({ length: 25 }, (_, i) => i);
    const taken: number[] = [];
    let running = 0;
    let most = 0;
    const { more } = await sweepLanes(4, 60_000, async () => {
      const item = items.shift();
      if (item === undefined) return false;
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 1));
      taken.push(item);
      running--;
      return true;
    });
    expect(more).toBe(false);
    expect(taken.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(most).toBe(4);
  });

  it('says there is more when the budget is spent before the work', async () => {
    let steps = 0;
    const { more } = await sweepLanes(2, -1, async () => {
      steps++;
      return true;
    });
    expect(more).toBe(true);
    expect(steps).toBe(0);
  });
});
