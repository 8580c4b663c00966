import type { FastifyRequest } from 'fastify';
import { ProblemError } from './error-codes.ts';

export function principalOf(request: FastifyRequest) {
  if (!request.principal) throw new ProblemError('unauthorized');
  return { ...request.principal, actor: `api_key:${request.principal.keyId}` };
}
