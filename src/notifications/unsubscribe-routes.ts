import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { ProblemError } from '../http/error-codes.ts';
import * as ops from './message-operations.ts';
import { escapeHtml, renderText } from './template-render.ts';

function page(locale: string, title: string, content: string): string {
  return `<!doctype html><html lang="${escapeHtml(locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`
    + `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head>`
    + `<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5">${content}</body></html>`;
}

function invalid(reply: FastifyReply) {
  const s = ops.unsubscribePageStrings(null);
  return reply.code(404).type('text/html; charset=utf-8').send(page(s.locale, s.title, `<p>${escapeHtml(s.invalid)}</p>`));
}

const Params = Type.Object({ token: Type.String({ maxLength: 100 }) });

/**
 * The member-facing unsubscribe link, outside /v1 because it carries no API key: the token in the
 * path is the proof. GET only shows a confirmation button (mail scanners that prefetch links must
 * not unsubscribe anyone); POST unsubscribes, and is also the RFC 8058 one-click target of the
 * List-Unsubscribe-Post header.
 */
export const unsubscribeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  // One-click clients post a form body ("List-Unsubscribe=One-Click"); its content is irrelevant.
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: 10_000 }, (_request, _body, done) => done(null, null));
  }
  const schema = (summary: string) => ({
    tags: ['messages'], summary, security: [], params: Params,
    response: { 200: Type.String({ description: 'HTML page' }), 404: Type.String({ description: 'HTML page: the link is not valid' }) },
  });

  app.get('/unsubscribe/:token', { schema: schema('Unsubscribe page of a member (linked from every message): confirms before acting') }, async (request, reply) => {
    try {
      const { program, member } = await ops.resolveUnsubscribeToken(db, request.params.token);
      const s = ops.unsubscribePageStrings(member.locale);
      const confirm = renderText(s.confirm, { programName: program.name });
      return reply.type('text/html; charset=utf-8').send(page(s.locale, s.title,
        `<h1>${escapeHtml(s.title)}</h1><form method="post"><button type="submit" style="font-size:1rem;padding:.6rem 1rem">${escapeHtml(confirm)}</button></form>`));
    } catch (error) {
      if (error instanceof ProblemError && error.code === 'invalid_unsubscribe_token') return invalid(reply);
      throw error;
    }
  });

  app.post('/unsubscribe/:token', { schema: schema('Unsubscribe (the confirmation button, and RFC 8058 one-click unsubscribe)') }, async (request, reply) => {
    try {
      const { program, member } = await ops.unsubscribeWithToken(db, request.params.token);
      const s = ops.unsubscribePageStrings(member.locale);
      return reply.type('text/html; charset=utf-8').send(page(s.locale, s.title, `<h1>${escapeHtml(s.title)}</h1><p>${escapeHtml(renderText(s.done, { programName: program.name }))}</p>`));
    } catch (error) {
      if (error instanceof ProblemError && error.code === 'invalid_unsubscribe_token') return invalid(reply);
      throw error;
    }
  });
};
