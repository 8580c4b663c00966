import { describe, expect, it } from 'vitest';
import { databaseUnavailable } from './database-unavailable.ts';

describe('databaseUnavailable', () => {
  it('recognises every way an unreachable database shows', () => {
    for (const error of [
      { code: 'ECONNREFUSED', syscall: 'connect', message: 'connect ECONNREFUSED 127.0.0.1:5432' },
      { code: 'ENOENT', syscall: 'connect', message: 'connect ENOENT /tmp/.s.PGSQL.5432' },
      { code: 'ECONNRESET', message: 'read ECONNRESET' },
      { code: '57P01', message: 'terminating connection due to administrator command' },
      { code: '08006', message: 'connection failure' },
      { message: 'Connection terminated unexpectedly' },
      { message: 'Client has encountered a connection error and is not queryable' },
      { message: 'timeout exceeded when trying to connect' },
    ]) expect(databaseUnavailable(error), JSON.stringify(error)).toBe(true);
  });

  it('leaves everything else to be a 500: a missing file, a constraint, a syntax error, a plain bug', () => {
    for (const error of [
      { code: 'ENOENT', syscall: 'open', message: "ENOENT: no such file or directory, open 'x'" },
      { code: '23505', message: 'duplicate key value violates unique constraint' },
      { code: '42601', message: 'syntax error at or near "x"' },
      { message: 'Cannot read properties of undefined' },
    ]) expect(databaseUnavailable(error), JSON.stringify(error)).toBe(false);
  });
});
