export interface PostResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** The start of the response body, for the delivery log. */
  responseBody: string | null;
  durationMs: number;
}

const RESPONSE_LIMIT = 2048;

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    // A large or endless body is not our business: stop reading and free the socket.
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_LIMIT);
}

/**
 * POSTs one webhook. Only the configured URL is ever requested: redirects are not followed (a
 * 3xx counts as a failure), so an endpoint cannot bounce Laurel's signed requests elsewhere.
 */
export async function postWebhook(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'durationMs'>): PostResult => ({ ...r, durationMs: Math.max(0, Math.round(performance.now() - started)) });
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'user-agent': 'Laurel-Webhooks/1', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await readLimited(response).catch(() => '');
    const ok = response.status >= 200 && response.status < 300;
    let error: string | null = null;
    if (!ok) error = response.status >= 300 && response.status < 400 ? `redirect to ${response.headers.get('location') ?? '?'} not followed` : `HTTP ${response.status}`;
    return done({ ok, statusCode: response.status, error, responseBody: text || null });
  } catch (caught) {
    const e = caught as Error & { cause?: { code?: string; message?: string } };
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    const message = timedOut ? `timed out after ${timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.cause?.message ?? e.message}`;
    return done({ ok: false, statusCode: null, error: message.slice(0, 500), responseBody: null });
  }
}
