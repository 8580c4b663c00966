import pg from 'pg';
import { databaseUnavailable } from '../http/database-unavailable.ts';

type Log = (level: string, message: string) => void;

export const FIRST_RETRY_DELAY_MS = 100;
export const MAX_RETRY_DELAY_MS = 2_000;

/**
 * The worker's pg.Pool, which waits out a database outage instead of failing.
 *
 * graphile-worker 0.17 completes and fails jobs without awaiting the promise, through a retry
 * helper that knows only serialization failures, deadlocks, "starting up" and two network codes: a
 * refused connection or a server shutting down rejected that promise unhandled, and the process
 * exited with the job still locked. Every statement graphile-worker sends goes through
 * `pool.connect()` (its withPgClient), so:
 *
 * - `connect()` waits while the database cannot be reached, then connects;
 * - a statement that fails because its connection broke (the server stopped as it ran, or an idle
 *   connection that had died before the pool noticed) is sent again on a new connection, once the
 *   database is back, when `repeatable` says that running it twice does no harm (whether the first
 *   run committed is unknown). Any other statement fails as before, and its caller handles it.
 *
 * The callback form of `connect()` (graphile-worker's LISTEN client) is left as it is: that caller
 * has its own reconnection with backoff. Only "the database cannot be reached" is waited out
 * (databaseUnavailable); any other error, or any error once `stopWaiting()` was called (the runner
 * is stopping), is thrown as before.
 */
export class PatientPool extends pg.Pool {
  // ES private fields: pg-pool keeps its own state on `this` (`log` among others), which a
  // TypeScript-private name could silently replace.
  #waiting = false;
  #stopped = false;
  readonly #wakers = new Set<() => void>();
  readonly #log: Log;
  readonly #repeatable: (query: unknown) => boolean;
  readonly #retryDelayMs: { first: number; max: number };

  constructor(config: pg.PoolConfig, options: { log?: Log; repeatable?: (query: unknown) => boolean; retryDelayMs?: { first: number; max: number } } = {}) {
    super(config);
    this.#log = options.log ?? (() => {});
    this.#repeatable = options.repeatable ?? (() => false);
    this.#retryDelayMs = options.retryDelayMs ?? { first: FIRST_RETRY_DELAY_MS, max: MAX_RETRY_DELAY_MS };
  }

  /** The wait after one of `delayMs`: doubling, up to the longest. */
  #nextDelay(delayMs: number) {
    return Math.min(delayMs * 2, this.#retryDelayMs.max);
  }

  /**
   * From now on an unreachable database fails connect() as before, and the calls waiting give up
   * at once: stopping the runner must not hang on a database that is gone.
   */
  stopWaiting() {
    this.#stopped = true;
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: any) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: any) => void) => void): Promise<pg.PoolClient> | void {
    if (callback) return super.connect(callback);
    return this.#connectWhenAvailable().then((client) => this.#repeating(client));
  }

  /**
   * The client as its borrower sees it: `query` sends a repeatable statement again on a new
   * connection after a lost one, and `release` returns whichever connection it holds by then.
   */
  #repeating(first: pg.PoolClient): pg.PoolClient {
    let current: pg.PoolClient | undefined = first;
    const send = (...args: unknown[]) => (current ?? first).query(...(args as Parameters<pg.PoolClient['query']>));
    const sendAgainAfterLoss = async (args: unknown[]) => {
      for (let delayMs = this.#retryDelayMs.first; ; delayMs = this.#nextDelay(delayMs)) {
        if (!current) throw new Error('query on a released client');
        try {
          return await send(...args);
        } catch (error) {
          if (this.#stopped || !databaseUnavailable(error as Error) || !this.#repeatable(args[0])) throw error;
          this.#log('warning', `worker database connection lost during a statement (${(error as Error).message}); sending it again once the database is back`);
          // Destroyed rather than returned to the pool: the connection is broken.
          current.release(error as Error);
          current = undefined;
          await this.#pause(delayMs);
          current = await this.#connectWhenAvailable();
        }
      }
    };
    // A callback or a submittable (a cursor, a stream) has its own way of reporting: left as is.
    const query = (...args: unknown[]) => {
      const plain = typeof args.at(-1) !== 'function' && typeof (args[0] as { submit?: unknown } | undefined)?.submit !== 'function';
      return plain ? sendAgainAfterLoss(args) : send(...args);
    };
    const release = (destroy?: Error | boolean) => {
      const client = current;
      current = undefined;
      return client?.release(destroy);
    };
    return new Proxy(first, {
      get: (_target, property) => {
        if (property === 'query') return query;
        if (property === 'release') return release;
        const holder = current ?? first;
        const value: unknown = Reflect.get(holder, property);
        return typeof value === 'function' ? value.bind(holder) : value;
      },
    });
  }

  async #connectWhenAvailable(): Promise<pg.PoolClient> {
    for (let delayMs = this.#retryDelayMs.first; ; delayMs = this.#nextDelay(delayMs)) {
      try {
        const client = await super.connect();
        if (this.#waiting) {
          this.#waiting = false;
          this.#log('warning', 'worker database is reachable again');
        }
        return client;
      } catch (error) {
        if (this.#stopped || this.ending || !databaseUnavailable(error as Error)) throw error;
        if (!this.#waiting) {
          this.#waiting = true;
          this.#log('warning', `worker database unreachable (${(error as Error).message}); waiting for it`);
        }
        await this.#pause(delayMs);
      }
    }
  }

  #pause(delayMs: number) {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, delayMs);
      this.#wakers.add(wake);
    });
  }
}
