import { describe, expect, it } from 'vitest';
import { loadLadder, putLadder, tierContext } from '../../src/tiers/tier-operations.ts';
import { createTestDatabase } from '../helpers.ts';
import { createProgram } from '../../src/programs/program-operations.ts';

describe('the ladder read once per transaction', async () => {
  const db = await createTestDatabase(2);
  const { program } = await createProgram(db.db, { name: 'Memo', currency: 'USD', timeZone: 'UTC' });
  const ladder = (codes: string[]) => ({
    window: { kind: 'calendar_year' as const },
    tiers: codes.map((code, i) => ({ code, name: code, thresholds: { net_spend: i * 10_000 } })),
  });

  it('is the same object within a transaction, and fresh after the ladder is written in it', async () => {
    await db.db.transaction().execute(async (trx) => {
      expect(await loadLadder(trx, program.id)).toBeNull();
      await putLadder(await tierContext(trx, program.id, new Date('2030-01-01T00:00:00Z'), 'test'), ladder(['a', 'b']));
      const first = await loadLadder(trx, program.id);
      expect(first?.tiers.map((t) => t.code)).toEqual(['a', 'b']);
      expect(await loadLadder(trx, program.id)).toBe(first);
      await putLadder(await tierContext(trx, program.id, new Date('2030-01-01T00:00:00Z'), 'test'), ladder(['a', 'b', 'c']));
      expect((await loadLadder(trx, program.id))?.tiers.map((t) => t.code)).toEqual(['a', 'b', 'c']);
    });
  });

  it('is never kept across transactions, nor outside one', async () => {
    const outside = await loadLadder(db.db, program.id);
    expect(await loadLadder(db.db, program.id)).not.toBe(outside);
    await db.db.transaction().execute(async (trx) => {
      await putLadder(await tierContext(trx, program.id, new Date('2030-01-01T00:00:00Z'), 'test'), ladder(['x']));
    });
    expect((await loadLadder(db.db, program.id))?.tiers.map((t) => t.code)).toEqual(['x']);
  });
});
