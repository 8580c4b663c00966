import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';
import { createReward, memberWith, redeemOk } from './reward-fixtures.ts';

describe('rewards catalog', async () => {
  const t = await setupTestApp({ program: { wallets: [{ code: 'points', name: 'Points' }, { code: 'cashback', name: 'Cashback', unit: 'currency' }] } });
  const create = (body: Record<string, unknown>) => t.call('POST', '/v1/rewards', { body: { name: 'R', costPoints: 100, ...body } });

  it('creates every kind of reward with its settings', async () => {
    const bodies = [
      { kind: 'fixed_amount', benefit: { amountOffMinor: 500, minimumOrderMinor: 2000 } },
      { kind: 'percentage', benefit: { percent: 20, maxDiscountMinor: 5000 } },
      { kind: 'free_shipping', benefit: {} },
      { kind: 'free_product', benefit: { sku: 'MUG', quantity: 2 } },
      { kind: 'store_credit', benefit: { wallet: 'cashback', amount: 1000 } },
      { kind: 'gift_note', autoIssue: true, benefit: { amountOffMinor: 2000 } },
      { kind: 'donation', benefit: { cause: 'trees' } },
      { kind: 'experience', stock: 50, benefit: { eventAt: '2025-09-01T19:00:00Z', location: 'Hall A' } },
      { kind: 'custom', benefit: { instructions: 'Bring the item to the store' } },
    ];
    for (const body of bodies) {
      const res = await create(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ kind: body.kind, status: 'active', visibility: 'public', wallet: 'points', costPoints: 100 });
    }
    const full = await create({
      kind: 'percentage', code: 'bazaar-20', name: 'Bazaar 20 %', description: 'Every Tuesday and Thursday',
      texts: { ko: { name: '바자 20%', description: '화요일과 목요일' }, 'zh-Hant': { name: '市集 20%' } },
      images: [{ url: 'https://cdn.example.com/bazaar.png', alt: 'Bazaar' }, { url: 'https://cdn.example.com/bazaar-ko.png', locale: 'ko' }],
      costPoints: 800, tierCosts: { gold: 600 }, allowedTiers: ['silver', 'gold'], benefit: { percent: 20 },
      availability: { startsAt: '2025-01-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z', weekdays: ['thursday', 'tuesday'] },
      stock: 200, limit: { count: 2, period: 'month' },
      voucher: { validityDays: 60, codeFormat: { prefix: 'BZR', groups: 2, groupLength: 6 }, refundOnExpiry: true, refundOnCancel: false },
    });
    expect(full.status).toBe(201);
    expect(full.body).toMatchObject({
      code: 'bazaar-20', tierCosts: { gold: 600 }, allowedTiers: ['silver', 'gold'],
      availability: { startsAt: '2025-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:00:00.000Z', weekdays: ['tuesday', 'thursday'] },
      stock: { total: 200, remaining: 200, issued: 0 }, limit: { count: 2, period: 'month' },
      voucher: { validityDays: 60, codeSource: 'generated', codeFormat: { prefix: 'BZR', groups: 2, groupLength: 6, separator: '-' }, refundOnExpiry: true, refundOnCancel: false, usage: 'any' },
      texts: { ko: { name: '바자 20%' } }, codePool: null,
    });
    expect((await t.call('GET', `/v1/rewards/${full.body.id}`)).body).toEqual(full.body);
  });

  it('refuses inconsistent rewards with a clear problem', async () => {
    const cases: [Record<string, unknown>, number, string, RegExp?][] = [
      [{ kind: 'fixed_amount' }, 400, 'validation_failed', /amountOffMinor/],
      [{ kind: 'percentage', benefit: { percent: 10, sku: 'X' } }, 400, 'validation_failed', /sku/],
      [{ kind: 'store_credit', benefit: { wallet: 'nope', amount: 10 } }, 422, 'unknown_wallet'],
      [{ kind: 'store_credit', benefit: { wallet: 'points', amount: 10 } }, 400, 'validation_failed', /another wallet/],
      [{ kind: 'free_shipping', wallet: 'nope' }, 422, 'unknown_wallet'],
      [{ kind: 'free_shipping', autoIssue: true }, 400, 'validation_failed', /gift_note/],
      [{ kind: 'donation', costPoints: 0, benefit: { cause: 'x' } }, 400, 'validation_failed', /at least 1 point/],
      [{ kind: 'donation', benefit: { cause: 'x' }, voucher: { codeSource: 'pool' } }, 400, 'validation_failed', /code pool/],
      [{ kind: 'free_shipping', voucher: { codeFormat: { groups: 1, groupLength: 4 } } }, 400, 'validation_failed', /random symbols/],
      [{ kind: 'free_shipping', availability: { startsAt: '2025-02-01T00:00:00Z', endsAt: '2025-01-01T00:00:00Z' } }, 400, 'validation_failed', /endsAt/],
      [{ kind: 'free_shipping', availability: { weekdays: ['someday'] } }, 400, 'validation_failed'],
      [{ kind: 'free_shipping', costPoints: -1 }, 400, 'validation_failed'],
      [{ kind: 'free_shipping', costPoints: 1.5 }, 400, 'validation_failed'],
      [{ kind: 'lottery' }, 400, 'validation_failed'],
    ];
    const before = (await t.call('GET', '/v1/rewards?limit=200')).body.data.length;
    for (const [body, status, code, detail] of cases) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.code).toBe(code);
      if (detail) expect(res.body.detail).toMatch(detail);
    }
    expect((await t.call('GET', '/v1/rewards?limit=200')).body.data.length).toBe(before);
    await create({ kind: 'free_shipping', code: 'ship-free' });
    const dup = await create({ kind: 'free_shipping', code: 'ship-free' });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('reward_conflict');
  });

  it('updates a reward; stock can grow or shrink down to what was issued', async () => {
    const reward = await createReward(t, { kind: 'experience', costPoints: 10, stock: 5 });
    const m = await memberWith(t, 100);
    await redeemOk(t, m.id, reward.id);
    await redeemOk(t, m.id, reward.id);
    const patch = (body: Record<string, unknown>) => t.call('PATCH', `/v1/rewards/${reward.id}`, { body });
    const tooLow = await patch({ stock: 1 });
    expect(tooLow.status).toBe(422);
    expect(tooLow.body).toMatchObject({ code: 'stock_below_issued', issued: 2 });
    expect((await patch({ stock: 2 })).body.stock).toEqual({ total: 2, remaining: 0, issued: 2 });
    expect((await patch({ stock: 10 })).body.stock).toEqual({ total: 10, remaining: 8, issued: 2 });
    expect((await patch({ stock: null })).body.stock).toBeNull();
    const renamed = await patch({ name: 'VIP night', costPoints: 20, visibility: 'hidden', availability: { weekdays: ['friday'] }, limit: { count: 1, period: 'day' } });
    expect(renamed.body).toMatchObject({ name: 'VIP night', costPoints: 20, visibility: 'hidden', availability: { weekdays: ['friday'] }, limit: { count: 1, period: 'day' } });
    expect((await patch({ kind: 'custom' })).status).toBe(400);
    expect((await patch({ benefit: { percent: 5 } })).body.code).toBe('validation_failed');
    const audit = await t.db.db.selectFrom('audit_events').select('action').where('subject_id', '=', reward.id).execute();
    expect(audit.map((a) => a.action)).toEqual(['reward.created', 'reward.updated', 'reward.updated', 'reward.updated', 'reward.updated']);
    const other = await t.newProgram();
    expect((await t.call('PATCH', `/v1/rewards/${reward.id}`, { body: { name: 'x' }, key: other.key })).status).toBe(404);
  });

  it('lists with filters and cursor pagination', async () => {
    const program = await t.newProgram();
    for (let i = 0; i < 5; i++) await createReward(t, { kind: i % 2 ? 'donation' : 'free_shipping', costPoints: 10, name: `R${i}`, ...(i % 2 ? { benefit: { cause: 'c' } } : {}) }, program);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { name: string }[]; nextCursor: string | null } } = await t.call('GET', `/v1/rewards?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: program.key });
      seen.push(...page.body.data.map((r) => r.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['R0', 'R1', 'R2', 'R3', 'R4']);
    const donations = await t.call('GET', '/v1/rewards?kind=donation', { key: program.key });
    expect(donations.body.data.map((r: { name: string }) => r.name)).toEqual(['R1', 'R3']);
    expect((await t.call('GET', '/v1/rewards?cursor=garbage', { key: program.key })).status).toBe(400);
  });

  it('shows a member what they can redeem now, what is missing for the rest, in their language', async () => {
    const program = await t.newProgram();
    const as = { key: program.key };
    const cheap = await createReward(t, { kind: 'free_shipping', name: 'Free shipping', costPoints: 300, texts: { ko: { name: '무료 배송' } } }, program);
    const dear = await createReward(t, {
      kind: 'fixed_amount', name: '$20 off', costPoints: 2000, benefit: { amountOffMinor: 2000 },
      texts: { 'zh-Hant': { name: '折抵 $20', description: '全店適用' } },
      images: [{ url: 'https://cdn.example.com/a.png' }, { url: 'https://cdn.example.com/zh.png', locale: 'zh-Hant' }, { url: 'https://cdn.example.com/ko.png', locale: 'ko' }],
    }, program);
    const gone = await createReward(t, { kind: 'experience', name: 'Concert', costPoints: 100, stock: 0 }, program);
    await createReward(t, { kind: 'experience', name: 'Secret', costPoints: 1, visibility: 'hidden' }, program);
    await createReward(t, { kind: 'experience', name: 'Paused', costPoints: 1, status: 'paused' }, program);
    const m = await t.member({ locale: 'zh-Hant-TW' }, program);
    await t.earn(m.id, 500, {}, program);

    const view = await t.call('GET', `/v1/members/${m.id}/rewards`, as);
    expect(view.status).toBe(200);
    expect(view.body.data.map((d: { reward: { id: string } }) => d.reward.id)).toEqual([cheap.id, gone.id, dear.id]);
    const [a, b, c] = view.body.data;
    expect(a).toMatchObject({ redeemableNow: true, costPoints: 300, availablePoints: 500, missingPoints: 0, blockers: [] });
    expect(b).toMatchObject({ redeemableNow: false, missingPoints: 0, blockers: [expect.objectContaining({ code: 'reward_out_of_stock' })] });
    expect(c).toMatchObject({ redeemableNow: false, missingPoints: 1500, blockers: [expect.objectContaining({ code: 'insufficient_points' })] });
    expect(c.reward).toMatchObject({ name: '折抵 $20', description: '全店適用', locale: 'zh-Hant' });
    expect(c.reward.images.map((i: { url: string }) => i.url)).toEqual(['https://cdn.example.com/a.png', 'https://cdn.example.com/zh.png']);
    const ko = await t.call('GET', `/v1/members/${m.id}/rewards?locale=ko-KR`, as);
    expect(ko.body.data[0].reward).toMatchObject({ name: '무료 배송', locale: 'ko' });
    expect(ko.body.data[2].reward).toMatchObject({ name: '$20 off', locale: null });
    expect((await t.call('GET', '/v1/members/00000000-0000-4000-8000-000000000000/rewards', as)).status).toBe(404);
  });

  it('documents its routes in the OpenAPI document', async () => {
    const doc = await t.call('GET', '/openapi.json', { key: null });
    for (const path of ['/v1/rewards', '/v1/members/{id}/redemptions', '/v1/checkout/vouchers/validate', '/v1/checkout/points-payments', '/v1/donations']) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
  });
});
