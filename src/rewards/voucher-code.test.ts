import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProblemError } from '../http/error-codes.ts';
import { CODE_ALPHABET, DEFAULT_CODE_FORMAT, generateVoucherCode, normalizeCode, parseCodeFormat } from './voucher-code.ts';

describe('voucher codes', () => {
  it('uses 32 symbols without 0/O and 1/I', () => {
    expect(new Set(CODE_ALPHABET).size).toBe(32);
    for (const ambiguous of ['0', 'O', '1', 'I']) expect(CODE_ALPHABET).not.toContain(ambiguous);
  });

  it('follows the format: prefix, groups, separator', () => {
    const code = generateVoucherCode(parseCodeFormat({ prefix: 'NOTE', groups: 3, groupLength: 4 }));
    expect(code).toMatch(/^NOTE-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(generateVoucherCode(parseCodeFormat({ groups: 1, groupLength: 12, separator: '' }))).toMatch(/^[A-HJ-NP-Z2-9]{12}$/);
  });

  it('maps random bytes uniformly onto the alphabet (5 bits each)', () => {
    const format = { ...DEFAULT_CODE_FORMAT, groups: 1, groupLength: 32, separator: '' as const };
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i + 32 * 5);
    expect(generateVoucherCode(format, () => bytes)).toBe(CODE_ALPHABET);
  });

  it('draws distinct codes', () => {
    const codes = new Set(Array.from({ length: 5000 }, () => generateVoucherCode(DEFAULT_CODE_FORMAT)));
    expect(codes.size).toBe(5000);
  });

  it('refuses guessable or malformed formats', () => {
    const code = (f: Parameters<typeof parseCodeFormat>[0]) => {
      try {
        parseCodeFormat(f);
        return 'ok';
      } catch (e) {
        return (e as ProblemError).code;
      }
    };
    expect(code({ groups: 2, groupLength: 4 })).toBe('validation_failed');
    expect(code({ groups: 8, groupLength: 16 })).toBe('validation_failed');
    expect(code({ prefix: 'bad' })).toBe('validation_failed');
    expect(code({ separator: '_' as '-' })).toBe('validation_failed');
    expect(code({ groups: 2, groupLength: 5 })).toBe('ok');
  });

  it('normalises what a customer types', () => {
    fc.assert(fc.property(fc.string(), (s) => normalizeCode(s) === normalizeCode(normalizeCode(s))));
    expect(normalizeCode('  abcd-efgh ')).toBe('ABCD-EFGH');
  });
});
