import { describe, expect, it } from 'vitest';
import { guardDecision } from './process-guards.ts';

const unavailable = [
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' }),
  Object.assign(new Error('connect ENOENT /tmp/.s.PGSQL.5432'), { code: 'ENOENT', syscall: 'connect' }),
  Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
  new Error('Connection terminated unexpectedly'),
];
const bugs: unknown[] = [
  new TypeError("Cannot read properties of undefined (reading 'id')"),
  Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
  Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), { code: 'ENOENT', syscall: 'open' }),
  'a rejected string',
  undefined,
  null,
];

describe('guardDecision', () => {
  it('survives an unhandled rejection that only says the database cannot be reached', () => {
    for (const reason of unavailable) expect(guardDecision('rejection', reason, false), String(reason)).toBe('warn');
  });

  it('exits on any other unhandled rejection, and on every uncaught exception, database or not', () => {
    for (const reason of bugs) expect(guardDecision('rejection', reason, false), String(reason)).toBe('exit');
    for (const error of [...unavailable, ...bugs]) expect(guardDecision('exception', error, false), String(error)).toBe('exit');
  });

  it('ignores everything while stopping: connections die as the database stops with the process', () => {
    for (const reason of [...unavailable, ...bugs]) {
      expect(guardDecision('rejection', reason, true)).toBe('ignore');
      expect(guardDecision('exception', reason, true)).toBe('ignore');
    }
  });
});
