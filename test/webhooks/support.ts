import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';
import { startWorker } from '../../src/jobs/worker.ts';
import type { WorkerOptions } from '../../src/jobs/worker-options.ts';
import type { TestContext } from '../helpers.ts';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  json: any;
  status: number;
  at: number;
  headers: http.IncomingHttpHeaders;
}

/**
 * Verifies a Standard Webhooks signature the way a receiver written from the specification
 * would: independent of Laurel's own signing code.
 */
export function verifySignature(secret: string, r: { id: string; timestamp: string; signature: string; body: string }): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest();
  return r.signature.split(' ').some((part) => {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export type Responder = (request: Omit<Received, 'status'>, count: number) => number | { status: number; delayMs?: number; headers?: Record<string, string> };

/** A real HTTP receiver on 127.0.0.1 that records every request and answers as told. */
export async function startReceiver(respond: Responder = () => 200) {
  const received: Received[] = [];
  let responder = respond;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // recorded as is
      }
      const base = {
        id: String(req.headers['webhook-id'] ?? ''), timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''), body, json, at: Date.now(), headers: req.headers,
      };
      const answer = responder(base, received.length);
      const { status, delayMs = 0, headers = {} } = typeof answer === 'number' ? { status: answer } : answer;
      received.push({ ...base, status });
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'text/plain', ...headers });
        res.end(status < 300 ? 'ok' : `status ${status}`);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  afterAll(close);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    /** Requests answered 2xx, deduplicated by webhook-id, first success first. */
    acknowledged() {
      const seen = new Set<string>();
      return received.filter((r) => r.status < 300 && !seen.has(r.id) && seen.add(r.id));
    },
    setResponder(next: Responder) {
      responder = next;
    },
    close,
  };
}

export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Fast settings for tests: retries in milliseconds, short leases, quick polling. */
export const FAST: Partial<WorkerOptions> = {
  concurrency: 4,
  webhookRetryScheduleMs: [100, 200, 300, 400, 500],
  webhookRetryJitter: 0,
  webhookTimeoutMs: 2_000,
  webhookLeaseMs: 4_000,
  messageRetryScheduleMs: [100, 200, 300],
  messageLeaseMs: 4_000,
  pollIntervalMs: 100,
  sweepBudgetMs: 10_000,
  publicUrl: 'http://laurel.test',
};

export async function startTestWorker(t: TestContext, overrides: Partial<WorkerOptions> = {}) {
  const errors: string[] = [];
  const runner = await startWorker(t.db.db, t.db.url, (level, message) => {
    if (level === 'error') errors.push(message);
  }, { ...FAST, ...overrides });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await runner.stop();
  };
  afterAll(stop);
  return { runner, stop, errors };
}
