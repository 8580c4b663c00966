import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseUnsubscribeToken, unsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.ts';

describe('unsubscribe tokens', () => {
  it('round-trip the program and member ids and verify only under the right key', () => {
    const key = randomBytes(32);
    const programId = randomUUID();
    const memberId = randomUUID();
    const token = unsubscribeToken(key, programId, memberId);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
    const parsed = parseUnsubscribeToken(token)!;
    expect(parsed.programId).toBe(programId);
    expect(parsed.memberId).toBe(memberId);
    expect(verifyUnsubscribeToken(key, parsed)).toBe(true);
    expect(verifyUnsubscribeToken(randomBytes(32), parsed)).toBe(false);
  });

  it('rejects a token whose ids were swapped for another member', () => {
    const key = randomBytes(32);
    const programId = randomUUID();
    const token = unsubscribeToken(key, programId, randomUUID());
    const forged = `${unsubscribeToken(key, programId, randomUUID()).split('.')[0]}.${token.split('.')[1]}`;
    expect(verifyUnsubscribeToken(key, parseUnsubscribeToken(forged)!)).toBe(false);
    expect(parseUnsubscribeToken('garbage')).toBeNull();
    expect(parseUnsubscribeToken(`${token}x`)).toBeNull();
    // The last character of the signature carries 2 bits; a variant in its unused bits is refused.
    const last = token.at(-1)!;
    const variant = `${token.slice(0, -1)}${'AEIMQUYcgkosw048'.includes(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : last}`;
    if (variant !== token) expect(parseUnsubscribeToken(variant)).toBeNull();
  });
});
