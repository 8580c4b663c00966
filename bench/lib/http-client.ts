import { Pool } from 'undici';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export interface HttpRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Abort after this long (a hung request counts as a network error). */
  timeoutMs?: number;
}

/**
 * A keep-alive HTTP/1.1 client for one server, with up to `sockets` connections, one request in
 * flight on each (no pipelining: every client of a closed loop waits for its answer).
 *
 * undici rather than node:http because the load generator shares the machine's two cores with
 * Laurel and PostgreSQL, and every microsecond it spends is taken from them: against the same
 * server in turns it cost 39–40 µs of CPU a `GET /health` where node:http cost 51–54 µs, and
 * 44–48 against 55–61 µs a balance read (docs/benchmarks.md, "The load generator").
 */
export class HttpClient {
  private readonly pool: Pool;
  constructor(
    public port: number,
    sockets: number,
    private readonly defaultHeaders: Record<string, string> = {},
  ) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, { connections: sockets, pipelining: 1 });
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const body = req.body === undefined ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = { ...this.defaultHeaders, ...req.headers };
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const response = await this.pool.request({
      method: req.method as 'GET', path: req.path, headers, body,
      // undici's own timers, not AbortSignal.timeout(): a timer and a signal per request cost
      // the generator about 15 µs of CPU a request (docs/benchmarks.md, "The load generator").
      ...(req.timeoutMs ? { headersTimeout: req.timeoutMs, bodyTimeout: req.timeoutMs } : {}),
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
  }

  close() {
    // Cuts whatever is still in flight, as the former agent's destroy() did: a closing benchmark
    // or chaos case must not wait on a server it has just killed.
    void this.pool.destroy().catch(() => {});
  }
}
