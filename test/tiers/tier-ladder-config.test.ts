import { describe, expect, it } from 'vitest';
import { setupTestApp, TestClock, type TestProgram } from '../helpers.ts';
import { activity, ladder, putLadder, SEPHORA, tierOf } from './tier-kit.ts';

describe('tier ladder configuration', async () => {
  const clock = new TestClock(new Date('2025-03-01T17:00:00Z'));
  const t = await setupTestApp({ clock });

  async function expectRefused(p: TestProgram, body: unknown, status: number, code: string) {
    const before = (await t.call('GET', '/v1/tiers', { key: p.key })).body;
    const res = await t.call('PUT', '/v1/tiers', { key: p.key, body });
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.code).toBe(code);
    expect((await t.call('GET', '/v1/tiers', { key: p.key })).body).toEqual(before);
    return res.body;
  }

  it('stores the ladder and shows it back in the same shape', async () => {
    const p = await t.newProgram();
    const empty = await t.call('GET', '/v1/tiers', { key: p.key });
    expect(empty.body).toMatchObject({ configured: false, tiers: [] });
    const saved = await putLadder(t, ladder({ graceDays: 30, refunds: 'immediate' }), p);
    expect(saved).toMatchObject({ configured: true, window: { kind: 'calendar_year', months: null }, qualification: 'any', graceDays: 30, refunds: 'immediate' });
    expect(saved.tiers.map((x: any) => [x.code, x.rank, x.thresholds])).toEqual([
      ['insider', 0, { net_spend: 0 }], ['vib', 1, { net_spend: 35_000 }], ['rouge', 2, { net_spend: 100_000 }],
    ]);
    expect(saved.tiers[1].benefits).toEqual({
      earnMultiplierBp: 15_000, freeShipping: true, earlyAccess: false, discountBp: 0, perks: [], entryReward: { points: 500, wallet: 'points' }, birthdayGift: null,
    });
    // The GET shape can be sent back as is (minus read-only fields).
    const again = await putLadder(t, {
      window: { kind: 'calendar_year' }, graceDays: 30, refunds: 'immediate',
      tiers: saved.tiers.map(({ code, name, thresholds, benefits }: any) => ({
        code, name, thresholds,
        benefits: { ...benefits, entryReward: benefits.entryReward ?? undefined, birthdayGift: benefits.birthdayGift ?? undefined },
      })),
    }, p);
    expect(again.tiers).toHaveLength(3);
    const audit = await t.db.db.selectFrom('audit_events').select('action').where('program_id', '=', p.id).where('action', '=', 'tiers.updated').execute();
    expect(audit).toHaveLength(2);
  });

  it('refuses bad ladders with a clear error and changes nothing', async () => {
    const p = await t.newProgram();
    await putLadder(t, ladder(), p);
    const [insider, vib, rouge] = SEPHORA.tiers;
    const unordered = await expectRefused(p, ladder({ tiers: [insider, rouge, vib] }), 422, 'invalid_tier_ladder');
    expect(unordered).toMatchObject({ tier: 'vib', field: 'thresholds.net_spend' });
    await expectRefused(p, ladder({ tiers: [insider, vib, { ...rouge, thresholds: { net_spend: 35_000 } }] }), 422, 'invalid_tier_ladder');
    const unknown = await expectRefused(p, ladder({ tiers: [insider, { ...vib, thresholds: { balance: 35_000 } }] }), 422, 'unknown_tier_metric');
    expect(unknown.known).toEqual(['net_spend', 'points_earned', 'orders']);
    await expectRefused(p, ladder({ window: { kind: 'rolling_months' } }), 422, 'invalid_tier_ladder');
    await expectRefused(p, ladder({ window: { kind: 'fortnightly' } }), 400, 'validation_failed');
    await expectRefused(p, ladder({ tiers: [insider, { ...vib, benefits: { entryReward: { points: 10, wallet: 'miles' } } }] }), 422, 'unknown_wallet');
    await expectRefused(p, ladder({ tiers: [insider, { code: 'vip', name: 'VIP', kind: 'paid' }] }), 422, 'invalid_tier_ladder');
    await expectRefused(p, ladder({ tiers: [insider, { ...vib, thresholds: { net_spend: -1 } }] }), 400, 'validation_failed');
  });

  it('refuses to remove or change the kind of a tier members hold, and allows it once nobody does', async () => {
    const p = await t.newProgram();
    await putLadder(t, ladder(), p);
    const m = await t.member({}, p);
    await activity(t, m.id, { net_spend: 120_000 }, { program: p });
    const [insider, vib, rouge] = SEPHORA.tiers;
    const removed = await expectRefused(p, ladder({ tiers: [insider, vib] }), 409, 'tier_in_use');
    expect(removed).toMatchObject({ tier: 'rouge', members: 1 });
    await expectRefused(p, ladder({ tiers: [insider, vib, { code: 'rouge', name: 'Rouge', kind: 'invitation' }] }), 409, 'tier_in_use');
    const del = await t.call('DELETE', '/v1/tiers/rouge', { key: p.key });
    expect(del.status).toBe(409);
    expect(del.body).toMatchObject({ code: 'tier_in_use', tier: 'rouge' });
    expect((await t.call('DELETE', '/v1/tiers/platinum', { key: p.key })).body.code).toBe('tier_not_found');
    // A tier nobody holds can go, and tiers can be renamed and reordered.
    await putLadder(t, ladder({ tiers: [insider, vib, { code: 'plus', name: 'Plus', kind: 'invitation' }, rouge] }), p);
    const reordered = await putLadder(t, ladder({ tiers: [insider, { code: 'plus', name: 'Plus+', kind: 'invitation' }, { ...vib, name: 'Very Important' }, rouge] }), p);
    expect(reordered.tiers.map((x: any) => `${x.rank}:${x.code}:${x.name}`)).toEqual(['0:insider:Insider', '1:plus:Plus+', '2:vib:Very Important', '3:rouge:Rouge']);
    const ok = await t.call('DELETE', '/v1/tiers/plus', { key: p.key });
    expect(ok.status).toBe(200);
    expect(ok.body.tiers.map((x: any) => x.code)).toEqual(['insider', 'vib', 'rouge']);
    expect(await tierOf(t, m.id, p)).toBe('rouge');
  });

  it('qualifies on a combination of metrics: any one threshold, or all of them', async () => {
    const tiers = [
      { code: 'member', name: 'Member', thresholds: { net_spend: 0, orders: 0 } },
      { code: 'regular', name: 'Regular', thresholds: { net_spend: 50_000, orders: 5 } },
    ];
    const any = await t.newProgram();
    await putLadder(t, { window: { kind: 'lifetime' }, qualification: 'any', tiers }, any);
    const all = await t.newProgram();
    await putLadder(t, { window: { kind: 'lifetime' }, qualification: 'all', tiers }, all);
    const a = await t.member({}, any);
    const b = await t.member({}, all);
    await activity(t, a.id, { net_spend: 60_000, orders: 1 }, { program: any });
    await activity(t, b.id, { net_spend: 60_000, orders: 1 }, { program: all });
    expect(await tierOf(t, a.id, any)).toBe('regular');
    expect(await tierOf(t, b.id, all)).toBe('member');
    const progress = await t.call('GET', `/v1/members/${b.id}/tier/progress`, { key: all.key });
    expect(progress.body.next.message).toBe('Place 4 more orders in total to reach Regular.');
    await activity(t, b.id, { orders: 4 }, { program: all });
    expect(await tierOf(t, b.id, all)).toBe('regular');
  });
});
