import http from 'node:http';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
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

/** A keep-alive HTTP/1.1 client for one server, with up to `sockets` connections. */
export class HttpClient {
  readonly agent: http.Agent;
  constructor(
    public port: number,
    sockets: number,
    private readonly defaultHeaders: Record<string, string> = {},
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const body = req.body === undefined ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = { ...this.defaultHeaders, ...req.headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const r = http.request({ host: '127.0.0.1', port: this.port, method: req.method, path: req.path, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
      });
      r.on('error', reject);
      if (req.timeoutMs) r.setTimeout(req.timeoutMs, () => r.destroy(new Error(`request timed out after ${req.timeoutMs} ms`)));
      if (body !== undefined) r.write(body);
      r.end();
    });
  }

  close() {
    this.agent.destroy();
  }
}
