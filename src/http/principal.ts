import type { FastifyRequest } from 'fastify';
import type { Principal } from '../programs/program-operations.ts';
import { ProblemError } from './error-codes.ts';

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ProblemError('unauthorized');
  return request.principal;
}
