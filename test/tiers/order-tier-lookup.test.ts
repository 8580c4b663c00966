import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { orderTierContributions, orderTierContributionsQuery } from '../../src/tiers/tier-repository.ts';
import { setupTestApp } from '../helpers.ts';

/**
 * Every later event of an order reads what the order contributed to tier activity so far. That
 * read must find the order's own sources, not walk its program's: with the program-led index of
 * 0008, the benchmark's batches were planned once through the unique index, every order source of
 * the program for each order (migration 0014). The plan choice itself could not be reproduced on a
 * small table, so this checks the lookup's shape: served by the one index that names the order.
 */
describe('an order\'s tier activity lookup', async () => {
  const t = await setupTestApp();

  it('touches a few buffers however many order sources its program has, before statistics catch up', async () => {
    const member = await t.member();
    const orderId = randomUUID();
    // 4,000 other orders' sources in the same program, written just now (no ANALYZE yet), then this order's two.
    await sql`
      insert into tier_metric_events (program_id, member_id, metric, amount, occurred_at, source_type, source_id, recorded_at)
      select ${t.program.id}, ${member.id}, m.metric, 100, now(), 'order', gen_random_uuid()::text || '#1', now()
      from generate_series(1, 2000) as g cross join (values ('net_spend'), ('orders')) as m(metric)`.execute(t.db.db);
    await sql`
      insert into tier_metric_events (program_id, member_id, metric, amount, occurred_at, source_type, source_id, recorded_at)
      values (${t.program.id}, ${member.id}, 'net_spend', 6499, now(), 'order', ${`${orderId}#1`}, now()),
             (${t.program.id}, ${member.id}, 'orders', 1, now(), 'order', ${`${orderId}#1`}, now()),
             (${t.program.id}, ${member.id}, 'net_spend', -1999, now(), 'order', ${`${orderId}#2`}, now())`.execute(t.db.db);
    expect(await orderTierContributions(t.db.db, orderId)).toEqual({ netSpend: 4500, orders: 1, sources: 2 });

    const plan = async () => {
      const { rows } = await sql<{ 'QUERY PLAN': [{ Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }>`explain (analyze, buffers, format json) ${orderTierContributionsQuery(orderId)}`.execute(t.db.db);
      const p = rows[0]!['QUERY PLAN'][0].Plan;
      return { buffers: p['Shared Hit Blocks'] + p['Shared Read Blocks'], indexes: [...JSON.stringify(p).matchAll(/"Index Name":"([a-z_]+)"/g)].map((m) => m[1]) };
    };
    // Through the index led by the order (no other index can serve a lookup that names no
    // program): an index descent and a heap page or two, where the program's sources are dozens.
    for (const analyzed of [false, true]) {
      if (analyzed) await sql`analyze tier_metric_events`.execute(t.db.db);
      const { buffers, indexes } = await plan();
      expect(indexes).toEqual(['tier_metric_events_by_order']);
      expect(buffers).toBeLessThanOrEqual(12);
    }
  });
});
