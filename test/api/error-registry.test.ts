import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes, ProblemError, problemBody } from '../../src/http/error-codes.ts';

/**
 * docs/errors.md documents each code as a `### code` heading (backticks allowed) whose section
 * states the HTTP status ("**HTTP 404.**", "Status: 404", or the first 4xx/5xx number in it).
 * Headings that are not code-like (spaces, capitals) are prose and ignored.
 */
function documentedCodes(markdown: string): Map<string, number | undefined> {
  const codes = new Map<string, number | undefined>();
  const sections = markdown.split(/^(?=#{1,3} )/m);
  for (const section of sections) {
    const heading = /^### +`?([a-z][a-z0-9_]*)`?(?=\s|$)(.*)$/.exec(section.split('\n')[0] ?? '');
    if (!heading) continue;
    const code = heading[1]!;
    if (codes.has(code)) throw new Error(`docs/errors.md documents "${code}" twice`);
    // The status may also follow the code on the heading line ("### code (404)").
    const body = `${heading[2]}\n${section.slice(section.indexOf('\n') + 1)}`;
    const explicit = /\b(?:HTTP|status)\b\W{0,4}([1-5]\d\d)\b/i.exec(body);
    const loose = /\b([45]\d\d)\b/.exec(body);
    codes.set(code, Number((explicit ?? loose)?.[1]) || undefined);
  }
  return codes;
}

describe('error registry and docs/errors.md', () => {
  const documented = documentedCodes(readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8'));

  it('documents exactly the registered codes', () => {
    const registered = Object.keys(errorCodes).sort();
    expect([...documented.keys()].sort()).toEqual(registered);
  });

  it('states the registered HTTP status for every code', () => {
    const mismatches = Object.entries(errorCodes)
      .filter(([code, { status }]) => documented.get(code) !== status)
      .map(([code, { status }]) => `${code}: registry ${status}, docs ${documented.get(code)}`);
    expect(mismatches).toEqual([]);
  });

  it('registers only client or server error statuses, each with a title', () => {
    for (const [code, { status, title }] of Object.entries(errorCodes)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      expect(title.length, code).toBeGreaterThan(0);
    }
  });

  it('renders a problem body with type, title, status, detail, code, instance, requestId and extras', () => {
    const body = problemBody(new ProblemError('member_conflict', 'another member already has this email', { field: 'email' }), '/v1/members', 'req-1');
    expect(body).toEqual({
      type: 'urn:laurel:problem:member_conflict', title: errorCodes.member_conflict.title, status: 409,
      detail: 'another member already has this email', code: 'member_conflict', instance: '/v1/members', requestId: 'req-1', field: 'email',
    });
  });
});
