import { randomBytes } from 'node:crypto';
import { ProblemError } from '../http/error-codes.ts';

/**
 * 32 symbols without the look-alike pairs 0/O and 1/I: a code read aloud or typed from a
 * receipt survives. 32 divides 256, so a random byte masked to 5 bits is uniform (no modulo bias).
 */
export const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export interface CodeFormat {
  prefix: string;
  groups: number;
  groupLength: number;
  separator: '' | '-';
}

export const DEFAULT_CODE_FORMAT: CodeFormat = { prefix: '', groups: 3, groupLength: 4, separator: '-' };

/** At least 50 random bits: guessing one of a million live codes takes ~2^30 tries. */
export const MIN_RANDOM_SYMBOLS = 10;
export const MAX_RANDOM_SYMBOLS = 32;

export function parseCodeFormat(input: Partial<CodeFormat> | undefined | null): CodeFormat {
  const format: CodeFormat = { ...DEFAULT_CODE_FORMAT, ...(input ?? {}) };
  if (!/^[A-Z0-9]{0,12}$/.test(format.prefix)) {
    throw new ProblemError('validation_failed', 'codeFormat.prefix is up to 12 upper-case letters or digits');
  }
  if (!Number.isInteger(format.groups) || format.groups < 1 || format.groups > 8) {
    throw new ProblemError('validation_failed', 'codeFormat.groups is 1 to 8');
  }
  if (!Number.isInteger(format.groupLength) || format.groupLength < 2 || format.groupLength > 16) {
    throw new ProblemError('validation_failed', 'codeFormat.groupLength is 2 to 16');
  }
  if (format.separator !== '' && format.separator !== '-') {
    throw new ProblemError('validation_failed', 'codeFormat.separator is "" or "-"');
  }
  const symbols = format.groups * format.groupLength;
  if (symbols < MIN_RANDOM_SYMBOLS || symbols > MAX_RANDOM_SYMBOLS) {
    throw new ProblemError('validation_failed', `codeFormat gives ${symbols} random symbols; use ${MIN_RANDOM_SYMBOLS} to ${MAX_RANDOM_SYMBOLS} so that codes cannot be guessed`, {
      randomSymbols: symbols,
    });
  }
  return format;
}

/** A fresh code in the given format, e.g. "SPRING-7KQM-X2HD-9PWC"; 5 random bits per symbol. */
export function generateVoucherCode(format: CodeFormat, random: (size: number) => Uint8Array = randomBytes): string {
  const bytes = random(format.groups * format.groupLength);
  const groups: string[] = [];
  for (let g = 0; g < format.groups; g++) {
    let group = '';
    for (let i = 0; i < format.groupLength; i++) group += CODE_ALPHABET[bytes[g * format.groupLength + i]! & 31];
    groups.push(group);
  }
  return [...(format.prefix ? [format.prefix] : []), ...groups].join(format.separator);
}

/** What a customer typed, as stored for lookup: trimmed, upper case. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase();
}
