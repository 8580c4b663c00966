import { describe, expect, it } from 'vitest';
import { decodeIdCursor, decodeKeyCursor, encodeKeyCursor } from './cursor.ts';

describe('list cursors', () => {
  it('round-trips an instant and an id', () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    const id = '0b7c3a5e-1d2f-4a6b-8c9d-0e1f2a3b4c5d';
    expect(decodeKeyCursor(encodeKeyCursor(at, id))).toEqual({ at, id });
    expect(decodeIdCursor('42')).toBe(42);
    expect(decodeIdCursor(undefined)).toBeUndefined();
  });

  it('refuses anything it did not make with a 400 on the cursor field', () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const bad of ['', 'x', b64(['not a date', '0b7c3a5e-1d2f-4a6b-8c9d-0e1f2a3b4c5d']), b64(['2030-01-01T00:00:00.000Z', 'nope']), b64([1, 2]), b64({}), b64(['2030-01-01T00:00:00.000Z'])]) {
      expect(() => decodeKeyCursor(bad), bad).toThrow(expect.objectContaining({ code: 'validation_failed', extra: { field: 'cursor' } }));
    }
    for (const bad of ['0', '-1', '1.5', 'abc', '99999999999999999', ' 1']) {
      expect(() => decodeIdCursor(bad), bad).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    }
  });
});
