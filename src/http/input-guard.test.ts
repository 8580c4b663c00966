import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findFault, inspectInput, MAX_DEPTH, nulLine } from './input-guard.ts';

describe('inspectInput', () => {
  it('finds U+0000 in strings and keys at any depth, and nothing in clean values', () => {
    expect(inspectInput({ a: ['x', { b: 'y\u0000' }] }, 'body')).toEqual({ kind: 'nul', at: 'body/a/1/b' });
    expect(inspectInput({ 'k\u0000': 1 }, 'body')).toEqual({ kind: 'nul', at: 'body/k\\u0000' });
    expect(inspectInput('\u0000', 'params/id')).toEqual({ kind: 'nul', at: 'params/id' });
    expect(inspectInput({ a: [1, true, null, 'ok', { c: 'd' }] }, 'body')).toBeNull();
    expect(inspectInput(undefined, 'body')).toBeNull();
  });

  it('refuses a nesting deeper than MAX_DEPTH, and accepts exactly MAX_DEPTH', () => {
    const nest = (levels: number) => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    expect(inspectInput(nest(MAX_DEPTH), 'body')).toBeNull();
    expect(inspectInput(nest(MAX_DEPTH + 1), 'body')?.kind).toBe('depth');
  });

  it('walks a hostile nesting without overflowing the stack', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(inspectInput(deep, 'body')).toEqual({ kind: 'depth', at: `body${'/0'.repeat(MAX_DEPTH)}` });
  });

  it('answers as the full walk does for any value, its quick check for clean values included', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '/', '\u0000') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, text, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 3 }),
      object: fc.dictionary(text, tie('node'), { maxKeys: 3 }),
    })).node;
    // A small depth limit, so that generated values cross it as often as they stay within it.
    fc.assert(fc.property(value, fc.integer({ min: 0, max: 4 }), (v, maxDepth) => {
      expect(inspectInput(v, 'body', maxDepth)).toEqual(findFault(v, 'body', maxDepth));
    }), { numRuns: 2_000 });
  });

  it('reports the line of a NUL in raw text', () => {
    expect(nulLine('a,b\n1,2\n3,\u00004\n')).toBe(3);
    expect(nulLine('\u0000')).toBe(1);
    expect(nulLine('a,b\n1,2\n')).toBeNull();
  });
});
