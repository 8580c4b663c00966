import { readFileSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

const html = readFileSync(new URL('./dashboard.html', import.meta.url), 'utf8');

/**
 * The admin dashboard: one static page that talks to the same public API with the merchant's
 * secret key (kept in the browser's session storage only), so it can never do more than the key.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.get('/dashboard', { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
      .header('cache-control', 'no-store')
      .send(html));
};
