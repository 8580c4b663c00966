/**
 * Whether an error means "the database cannot be reached right now" (a 503 the client may retry)
 * rather than a bug (a 500). One test for every way it shows: a socket error while connecting or
 * talking (any failed connect(): refused over TCP, the socket file gone over a Unix socket, …),
 * PostgreSQL's own shutdown and connection SQLSTATEs, and node-postgres messages that carry no code
 * (a pooled client whose connection broke mid-transaction refuses further queries with its last
 * message).
 */
const CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004']);
const MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable/i;

export function databaseUnavailable(error: { code?: unknown; syscall?: unknown; message?: unknown }): boolean {
  if (typeof error.code === 'string' && CODES.has(error.code)) return true;
  if (error.syscall === 'connect') return true;
  return typeof error.message === 'string' && MESSAGES.test(error.message);
}
