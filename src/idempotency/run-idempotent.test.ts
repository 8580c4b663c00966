import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, requestHash } from './run-idempotent.ts';

/** The first definition, kept as the specification: hashes stored with it must still match. */
function firstCanonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(firstCanonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${firstCanonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** JSON values, with properties that hold undefined (as a parsed body's optional fields may). */
const values = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'grapheme' }),
    fc.array(tie('value')),
    fc.dictionary(fc.string({ unit: 'binary' }), fc.option(tie('value'), { nil: undefined })),
  ),
})).value;

function shuffledKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffledKeys(v, seed + 1));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    // A fixed rotation and reversal of the keys: another insertion order for every object of two or more keys.
    const turned = entries.slice(seed % Math.max(1, entries.length)).concat(entries.slice(0, seed % Math.max(1, entries.length))).reverse();
    return Object.fromEntries(turned.map(([k, v]) => [k, shuffledKeys(v, seed + 1)]));
  }
  return value;
}

describe('canonicalJson', () => {
  it('gives the same bytes as its first definition, for any JSON value', () => {
    fc.assert(fc.property(values, (value) => {
      expect(canonicalJson(value)).toBe(firstCanonicalJson(value));
    }), { numRuns: 2_000 });
  });

  it('does not depend on the order of keys, and reads back as the value without its undefined properties', () => {
    fc.assert(fc.property(values, fc.nat(), (value, seed) => {
      const text = canonicalJson(value);
      expect(canonicalJson(shuffledKeys(value, seed))).toBe(text);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value) ?? 'null'));
    }), { numRuns: 1_000 });
  });

  it('sorts keys by UTF-16 code units and leaves undefined out', () => {
    expect(canonicalJson({ b: 1, a: [true, null, undefined], A: 'x', é: 2, z: undefined })).toBe('{"A":"x","a":[true,null,null],"b":1,"é":2}');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({})).toBe('{}');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('hashes a request the same whatever the order of its body and params', () => {
    expect(requestHash('POST', '/v1/x', { id: '1' }, { amount: 5, pendingUntil: null }))
      .toBe(requestHash('POST', '/v1/x', { id: '1' }, { pendingUntil: null, amount: 5 }));
    expect(requestHash('POST', '/v1/x', { id: '1' }, { amount: 5 })).not.toBe(requestHash('POST', '/v1/x', { id: '1' }, { amount: 6 }));
  });
});
