import { describe, expect, it } from 'vitest';
import { ProblemError } from '../http/error-codes.ts';
import { normalizePhone } from './phone.ts';

describe('normalizePhone', () => {
  it('normalises international formats to E.164', () => {
    expect(normalizePhone('+1 (415) 555-2671')).toBe('+14155552671');
    expect(normalizePhone('+82 10-1234-5678')).toBe('+821012345678');
  });

  it('reads national numbers in the default country', () => {
    expect(normalizePhone('010-1234-5678', 'KR')).toBe('+821012345678');
    expect(normalizePhone('(415) 555-2671', 'US')).toBe('+14155552671');
  });

  it('rejects impossible numbers with invalid_phone', () => {
    for (const bad of ['12', '+1 555', 'not a phone', '+999 123456789', '0000']) {
      expect(() => normalizePhone(bad)).toThrow(ProblemError);
      try {
        normalizePhone(bad);
      } catch (error) {
        expect((error as ProblemError).code).toBe('invalid_phone');
      }
    }
  });
});
