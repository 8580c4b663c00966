/**
 * Group commit: concurrent requests of one group (a program) share a transaction, so a commit's
 * flush to disk and each set-based statement serve many requests at once.
 *
 * A batch starts the moment a slot is free — no timer, so an idle server adds no latency and a
 * lone request runs as a batch of one. While `maxInFlight` batches are running, what arrives
 * queues, and the next free slot takes up to `maxBatch` of it: the busier the server, the larger
 * the batches. Groups with queued work take turns for free slots.
 *
 * While a batch is running, another starts only once `minWhileBusy` requests of a group wait;
 * fewer wait for the running batch to end (one batch's time at most) and then go together. A
 * batch costs its round trips whatever its size, and without this, under load, every free slot
 * took the one request that had just arrived: half the batches of the order benchmark were
 * batches of one (docs/benchmarks.md).
 *
 * `run` answers each item of a batch in order; if it throws, every item of that batch gets the
 * error. Whether an item's effect is durable is `run`'s business: it must resolve only after
 * its transaction committed. Balance reads share statements through it too (group reads,
 * docs/architecture.md), where a batch is one read statement and nothing commits.
 */
export class GroupCommitter<I, R> {
  private readonly queues = new Map<string, Waiting<I, R>[]>();
  private running = 0;

  constructor(
    private readonly run: (group: string, items: I[]) => Promise<R[]>,
    private readonly options: { maxInFlight: number; maxBatch: number; minWhileBusy?: number },
  ) {
    if (!(options.maxInFlight >= 1 && options.maxBatch >= 1)) throw new Error('a group committer needs at least one slot and one item per batch');
  }

  submit(group: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let queue = this.queues.get(group);
      if (!queue) this.queues.set(group, (queue = []));
      queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Batches running now (for tests and metrics). */
  get inFlight(): number {
    return this.running;
  }

  private pump() {
    while (this.running < this.options.maxInFlight) {
      const next = this.nextGroup();
      if (!next) return;
      const [group, queue] = next;
      const batch = queue.splice(0, this.options.maxBatch);
      // Removed and put back last: the next free slot goes to the next group in line.
      this.queues.delete(group);
      if (queue.length > 0) this.queues.set(group, queue);
      this.running++;
      void this.execute(group, batch);
    }
  }

  /** The first group in line that may start a batch now. */
  private nextGroup(): [string, Waiting<I, R>[]] | undefined {
    const least = this.running === 0 ? 1 : Math.max(1, this.options.minWhileBusy ?? 1);
    for (const entry of this.queues) if (entry[1].length >= least) return entry;
    return undefined;
  }

  private async execute(group: string, batch: Waiting<I, R>[]) {
    try {
      const results = await this.run(group, batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} was answered with ${results.length} results`);
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.running--;
      this.pump();
    }
  }
}

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}
