import { describe, expect, it } from 'vitest';
import { GroupCommitter } from './group-commit.ts';

/** A run whose batches finish when the test says so. */
function controlled() {
  const batches: { group: string; items: number[]; finish: (fail?: Error) => void }[] = [];
  const run = (group: string, items: number[]) => new Promise<number[]>((resolve, reject) => {
    batches.push({ group, items, finish: (fail) => (fail ? reject(fail) : resolve(items.map((i) => i * 10))) });
  });
  return { batches, run };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommitter', () => {
  it('runs a lone item at once, as a batch of one', async () => {
    const { batches, run } = controlled();
    const gc = new GroupCommitter(run, { maxInFlight: 1, maxBatch: 10 });
    const answer = gc.submit('p', 1);
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0]!.finish();
    expect(await answer).toBe(10);
    expect(gc.inFlight).toBe(0);
  });

  it('queues what arrives while every slot is busy and takes it as the next batch, up to maxBatch', async () => {
    const { batches, run } = controlled();
    const gc = new GroupCommitter(run, { maxInFlight: 1, maxBatch: 3 });
    const answers = [1, 2, 3, 4, 5].map((i) => gc.submit('p', i));
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    batches[0]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    batches[1]!.finish();
    await tick();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3, 4], [5]]);
    batches[2]!.finish();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50]);
  });

  it('never runs more than maxInFlight batches, and groups take turns', async () => {
    const { batches, run } = controlled();
    const gc = new GroupCommitter(run, { maxInFlight: 2, maxBatch: 10 });
    const answers = [gc.submit('a', 1), gc.submit('a', 2), gc.submit('a', 3), gc.submit('b', 4), gc.submit('a', 5)];
    expect(gc.inFlight).toBe(2);
    expect(batches.map((b) => [b.group, b.items])).toEqual([['a', [1]], ['a', [2]]]);
    batches[0]!.finish();
    await tick();
    // 'a' was first in line, so 'b' is not starved behind it: it gets the slot after.
    expect(batches.slice(2).map((b) => [b.group, b.items])).toEqual([['a', [3, 5]]]);
    batches[1]!.finish();
    await tick();
    expect(batches.slice(3).map((b) => [b.group, b.items])).toEqual([['b', [4]]]);
    batches[2]!.finish();
    batches[3]!.finish();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50]);
  });

  it('while a batch runs, starts another only once minWhileBusy items of a group wait; an idle committer starts at once', async () => {
    const { batches, run } = controlled();
    const gc = new GroupCommitter(run, { maxInFlight: 2, maxBatch: 10, minWhileBusy: 3 });
    const answers = [gc.submit('a', 1), gc.submit('a', 2), gc.submit('b', 3), gc.submit('a', 4)];
    // The first starts alone; then 'a' and 'b' each have fewer than three waiting: no second batch.
    expect(batches.map((b) => [b.group, b.items])).toEqual([['a', [1]]]);
    answers.push(gc.submit('a', 5));
    // Three of 'a' wait now: the free slot takes them, though 'b' was waiting too.
    expect(batches.map((b) => [b.group, b.items])).toEqual([['a', [1]], ['a', [2, 4, 5]]]);
    batches[0]!.finish();
    await tick();
    // Still busy: 'b' alone does not start a batch while another runs.
    expect(batches).toHaveLength(2);
    batches[1]!.finish();
    await tick();
    // Idle again: what waits goes at once, however little.
    expect(batches.slice(2).map((b) => [b.group, b.items])).toEqual([['b', [3]]]);
    batches[2]!.finish();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50]);
  });

  it('a failed batch rejects its own items only, and the queue goes on', async () => {
    const { batches, run } = controlled();
    const gc = new GroupCommitter(run, { maxInFlight: 1, maxBatch: 10 });
    const first = gc.submit('p', 1);
    const second = gc.submit('p', 2);
    batches[0]!.finish(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await tick();
    batches[1]!.finish();
    expect(await second).toBe(20);
  });

  it('a run that answers the wrong number of items fails its batch', async () => {
    const short = new GroupCommitter(async () => [] as number[], { maxInFlight: 1, maxBatch: 10 });
    await expect(short.submit('p', 1)).rejects.toThrow('answered with 0 results');
  });
});
