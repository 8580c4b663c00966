import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

describe('members API', async () => {
  const t = await setupTestApp();

  async function memberCount(): Promise<number> {
    const row = await t.db.db.selectFrom('members').select((eb) => eb.fn.countAll<string>().as('n')).where('program_id', '=', t.program.id).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('enrols once per Idempotency-Key: a retried POST replays the first response', async () => {
    const before = await memberCount();
    const body = { email: 'retry.me@example.com', firstName: 'Retry' };
    const first = await t.call('POST', '/v1/members', { body, idempotencyKey: 'enrol-retry-1' });
    const again = await Promise.all([1, 2, 3].map(() => t.call('POST', '/v1/members', { body, idempotencyKey: 'enrol-retry-1' })));
    expect(first.status).toBe(201);
    for (const res of again) {
      expect(res.status).toBe(201);
      expect(res.body).toEqual(first.body);
      expect(res.headers['idempotent-replayed']).toBe('true');
    }
    expect(await memberCount()).toBe(before + 1);
    // A conflict is a business failure: it stays failed for its key, and nothing is written.
    const conflict = await t.call('POST', '/v1/members', { body: { email: 'RETRY.me@example.com' }, idempotencyKey: 'enrol-retry-2' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('member_conflict');
    const reused = await t.call('POST', '/v1/members', { body: { email: 'other@example.com' }, idempotencyKey: 'enrol-retry-1' });
    expect(reused.status).toBe(409);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(await memberCount()).toBe(before + 1);
  });

  it('enrols a member with a full profile (201) and reads it back by id', async () => {
    const res = await t.call('POST', '/v1/members', {
      body: {
        customerId: 'shop-1', email: 'Ana.Lima@Example.com', phone: '+1 (415) 555-2671', firstName: 'Ana', lastName: 'Lima',
        birthday: '1990-02-28', locale: 'pt-BR', marketingConsent: true, tags: ['vip', 'vip', 'newsletter'],
        attributes: { shoeSize: 38, channels: ['sms'] }, enrollmentSource: 'pos',
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      customerId: 'shop-1', email: 'Ana.Lima@Example.com', phone: '+14155552671', firstName: 'Ana', lastName: 'Lima',
      birthday: '1990-02-28', locale: 'pt-BR', marketingConsent: true, tags: ['vip', 'newsletter'],
      attributes: { shoeSize: 38, channels: ['sms'] }, status: 'active', enrollmentSource: 'pos',
    });
    expect(Date.parse(res.body.enrolledAt)).not.toBeNaN();
    const got = await t.call('GET', `/v1/members/${res.body.id}`);
    expect(got.body).toEqual(res.body);
    const bare = await t.call('POST', '/v1/members', { body: {} });
    expect(bare.status).toBe(201);
    expect(bare.body).toMatchObject({ customerId: null, email: null, phone: null, tags: [], attributes: {}, marketingConsent: false, enrollmentSource: 'api' });
  });

  it('looks members up by customer id, email (any case) and phone (any format)', async () => {
    const m = await t.member({ customerId: 'look-1', email: 'Mixed.Case@Example.org', phone: '+44 20 7946 0958' });
    const lookup = (query: string) => t.call('GET', `/v1/members/lookup?${query}`);
    expect((await lookup('customerId=look-1')).body.id).toBe(m.id);
    expect((await lookup('email=mixed.case%40example.ORG')).body.id).toBe(m.id);
    for (const phone of ['+442079460958', '+44 (0)20 7946 0958', '+44-20-7946-0958']) {
      expect((await lookup(`phone=${encodeURIComponent(phone)}`)).body.id, phone).toBe(m.id);
    }
    // Case folding happens in the database, like its unique index: an address is always found as stored.
    const intl = await t.member({ email: 'Über.Müller@Example.de' });
    expect((await lookup(`email=${encodeURIComponent('Über.Müller@Example.de')}`)).body.id).toBe(intl.id);
    expect((await lookup(`email=${encodeURIComponent('Über.Müller@EXAMPLE.DE')}`)).body.id).toBe(intl.id);
    expect((await lookup('customerId=nobody')).body.code).toBe('member_not_found');
    expect((await lookup('email=nobody%40example.org')).status).toBe(404);
    expect((await lookup('phone=not-a-phone')).body).toMatchObject({ status: 422, code: 'invalid_phone' });
    expect((await lookup('customerId=look-1&email=x%40y.z')).status).toBe(400);
    expect((await lookup('')).status).toBe(400);
  });

  it('reads national phone numbers in the program’s default country and rejects invalid numbers storing nothing', async () => {
    const kr = await t.newProgram({ settings: { defaultCountry: 'KR' } });
    const created = await t.call('POST', '/v1/members', { key: kr.key, body: { phone: '010-1234-5678' } });
    expect(created.body.phone).toBe('+821012345678');
    expect((await t.call('GET', '/v1/members/lookup?phone=01012345678', { key: kr.key })).body.id).toBe(created.body.id);
    // Without a default country a national number is ambiguous, so it is refused.
    const before = await memberCount();
    for (const phone of ['010-1234-5678', '12', '+1 555', 'call me']) {
      const res = await t.call('POST', '/v1/members', { body: { customerId: `bad-phone-${phone}`, phone } });
      expect(res.status, phone).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_phone', field: 'phone' });
    }
    const put = await t.call('PUT', '/v1/members/by-customer-id/bad-phone-put', { body: { phone: '12345' } });
    expect(put.body.code).toBe('invalid_phone');
    expect(await memberCount()).toBe(before);
    // The default country must be one libphonenumber knows, or phone input could never be read.
    const bad = await t.call('PATCH', '/v1/program', { key: kr.key, body: { settings: { defaultCountry: 'XX' } } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('refuses a second member with the same customer id, email (any case) or phone (any format) with 409 naming the field', async () => {
    const m = await t.member({ customerId: 'dup-1', email: 'dup@example.com', phone: '+1 415 555 0100' });
    const cases: [Record<string, unknown>, string][] = [
      [{ customerId: 'dup-1' }, 'customerId'],
      [{ email: 'DUP@example.COM' }, 'email'],
      [{ phone: '+14155550100' }, 'phone'],
    ];
    const before = await memberCount();
    for (const [body, field] of cases) {
      const res = await t.call('POST', '/v1/members', { body });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'member_conflict', field });
      const other = await t.member();
      const patch = await t.call('PATCH', `/v1/members/${other.id}`, { body });
      expect(patch.body).toMatchObject({ code: 'member_conflict', field });
    }
    expect(await memberCount()).toBe(before + cases.length);
    // A member may keep its own values.
    expect((await t.call('PATCH', `/v1/members/${m.id}`, { body: { email: 'DUP@example.com' } })).status).toBe(200);
  });

  it('validates profile fields: real past birthdays, locales, emails; null clears a field', async () => {
    const m = await t.member({ firstName: 'Bo', birthday: '2000-02-29' });
    const patch = (body: Record<string, unknown>) => t.call('PATCH', `/v1/members/${m.id}`, { body });
    for (const birthday of ['2023-02-30', '2021-02-29', '1899-12-31', '2999-01-01', '2023-13-01']) {
      expect((await patch({ birthday })).body, birthday).toMatchObject({ status: 422, code: 'invalid_date', field: 'birthday' });
    }
    expect((await patch({ birthday: '23-02-01' })).status).toBe(400);
    expect((await patch({ locale: 'english please' })).status).toBe(400);
    expect((await patch({ email: 'not-an-email' })).body).toMatchObject({ status: 422, code: 'invalid_email' });
    expect((await patch({ tags: ['a', ''] })).status).toBe(400);
    expect((await patch({ attributes: [] })).status).toBe(400);
    expect((await patch({})).status).toBe(400);
    expect((await patch({ id: m.id })).status).toBe(400);
    const unchanged = await t.call('GET', `/v1/members/${m.id}`);
    expect(unchanged.body).toMatchObject({ birthday: '2000-02-29', firstName: 'Bo', locale: null, email: null });
    const changed = await patch({ birthday: null, firstName: null, locale: 'ko', marketingConsent: true, tags: ['x'], attributes: { a: 1 } });
    expect(changed.body).toMatchObject({ birthday: null, firstName: null, locale: 'ko', marketingConsent: true, tags: ['x'], attributes: { a: 1 } });
    expect(Date.parse(changed.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(changed.body.createdAt));
    expect((await t.call('PATCH', `/v1/members/${crypto.randomUUID()}`, { body: { locale: 'en' } })).body.code).toBe('member_not_found');
  });

  it('upserts by customer id: 201 on create, 200 on update, enrolment source kept', async () => {
    const first = await t.call('PUT', '/v1/members/by-customer-id/up-1', { body: { email: 'up1@example.com', enrollmentSource: 'shop_registration' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ customerId: 'up-1', email: 'up1@example.com', enrollmentSource: 'shop_registration' });
    const second = await t.call('PUT', '/v1/members/by-customer-id/up-1', { body: { firstName: 'Cy', enrollmentSource: 'import' } });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: first.body.id, email: 'up1@example.com', firstName: 'Cy', enrollmentSource: 'shop_registration', enrolledAt: first.body.enrolledAt });
    const odd = await t.call('PUT', `/v1/members/by-customer-id/${encodeURIComponent('shop/42 ü')}`, { body: {} });
    expect(odd.status).toBe(201);
    expect(odd.body.customerId).toBe('shop/42 ü');
    // The customer id of the path wins over one in the body: the body has none.
    expect((await t.call('PUT', '/v1/members/by-customer-id/up-2', { body: { customerId: 'other' } })).status).toBe(400);
  });

  it('converges concurrent upserts of one new customer id on one member', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => t.call('PUT', '/v1/members/by-customer-id/race-1', { body: { tags: ['race'], attributes: { writer: i } } })),
    );
    expect(results.map((r) => r.status).sort((a, b) => a - b)).toEqual([...Array(11).fill(200), 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const rows = await t.db.db.selectFrom('members').select('id').where('program_id', '=', t.program.id).where('customer_id', '=', 'race-1').execute();
    expect(rows).toHaveLength(1);
    const created = await t.call('GET', `/v1/events?type=member.created`);
    expect(created.body.data.filter((e: any) => e.memberId === rows[0]!.id)).toHaveLength(1);
  });

  it('blocks and unblocks a member (audited); a blocked member can neither earn nor spend', async () => {
    const m = await t.member();
    await t.earn(m.id, 100);
    const blocked = await t.call('PATCH', `/v1/members/${m.id}`, { body: { status: 'blocked' } });
    expect(blocked.body.status).toBe('blocked');
    for (const [path, body] of [['earn', { amount: 5 }], ['spend', { amount: 5 }], ['reservations', { amount: 5 }]] as const) {
      const res = await t.call('POST', `/v1/members/${m.id}/${path}`, { body });
      expect(res.status, path).toBe(409);
      expect(res.body.code).toBe('member_blocked');
    }
    const balance = await t.call('GET', `/v1/members/${m.id}/balances/points`);
    expect(balance.body.available).toBe(100);
    await t.call('PATCH', `/v1/members/${m.id}`, { body: { status: 'active' } });
    expect((await t.call('POST', `/v1/members/${m.id}/spend`, { body: { amount: 5 } })).status).toBe(201);
    const audit = await t.call('GET', '/v1/audit-events?limit=200');
    const mine = audit.body.data.filter((a: any) => a.subjectId === m.id).map((a: any) => [a.action, a.actor, a.details]);
    expect(mine).toEqual([
      ['member.unblocked', expect.stringMatching(/^api_key:/), { from: 'blocked', to: 'active' }],
      ['member.blocked', expect.stringMatching(/^api_key:/), { from: 'active', to: 'blocked' }],
    ]);
  });

  it('lists members with filters and a cursor that visits every member exactly once', async () => {
    const p = await t.newProgram();
    const ids: string[] = [];
    for (let i = 0; i < 13; i++) {
      const m = await t.member({
        email: `list${i}@Example.com`, phone: `+1415555${String(1000 + i)}`,
        tags: i % 3 === 0 ? ['gold'] : [], status: i % 4 === 0 ? 'blocked' : 'active', customerId: `list-${i}`,
      }, p);
      ids.push(m.id);
    }
    // Enrolment dates spread over days, so that date filters have clear boundaries.
    for (const [i, id] of ids.entries()) {
      await t.db.db.updateTable('members').set({ enrolled_at: new Date(Date.UTC(2024, 0, 1 + i)) }).where('id', '=', id).execute();
    }
    const list = async (query: string) => {
      const res = await t.call('GET', `/v1/members?${query}`, { key: p.key });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as { data: { id: string }[]; nextCursor: string | null };
    };
    const pick = (pred: (i: number) => boolean) => ids.filter((_, i) => pred(i));

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(`limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((m) => m.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(ids);
    expect(pages).toBe(4);

    const idsOf = async (query: string) => (await list(`limit=200&${query}`)).data.map((m) => m.id);
    expect(await idsOf('status=blocked')).toEqual(pick((i) => i % 4 === 0));
    expect(await idsOf('status=active&tag=gold')).toEqual(pick((i) => i % 3 === 0 && i % 4 !== 0));
    expect(await idsOf('email=LIST7%40example.com')).toEqual([ids[7]]);
    expect(await idsOf(`phone=${encodeURIComponent('+1 (415) 555-1002')}`)).toEqual([ids[2]]);
    expect(await idsOf('customerId=list-5')).toEqual([ids[5]]);
    expect(await idsOf('enrolledAfter=2024-01-10T00:00:00Z')).toEqual(ids.slice(9));
    expect(await idsOf('enrolledBefore=2024-01-03T00:00:00Z')).toEqual(ids.slice(0, 2));
    expect(await idsOf('enrolledAfter=2024-01-03T00:00:00Z&enrolledBefore=2024-01-05T00:00:00Z&status=active')).toEqual([ids[2], ids[3]]);

    // Paging under a filter also visits each match once.
    const blockedPages = [await list('status=blocked&limit=2')];
    while (blockedPages.at(-1)!.nextCursor) blockedPages.push(await list(`status=blocked&limit=2&cursor=${blockedPages.at(-1)!.nextCursor}`));
    expect(blockedPages.flatMap((pg) => pg.data.map((m) => m.id))).toEqual(pick((i) => i % 4 === 0));

    expect((await t.call('GET', '/v1/members?cursor=garbage', { key: p.key })).body.code).toBe('validation_failed');
    expect((await t.call('GET', '/v1/members?limit=0', { key: p.key })).status).toBe(400);
    expect((await t.call('GET', '/v1/members?enrolledAfter=yesterday', { key: p.key })).status).toBe(400);
    expect((await t.call('GET', '/v1/members?phone=12', { key: p.key })).body.code).toBe('invalid_phone');
  });

  it('pages correctly through members created in one transaction (same timestamp)', async () => {
    const p = await t.newProgram();
    await sql`insert into members (program_id, customer_id) select ${p.id}::uuid, 'bulk-' || g from generate_series(1, 7) g`.execute(t.db.db);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.call('GET', `/v1/members?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { key: p.key });
      seen.push(...res.body.data.map((m: any) => m.customerId));
      cursor = res.body.nextCursor;
    } while (cursor && seen.length < 20);
    expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `bulk-${i + 1}`).sort());
  });
  it('enrols on the test clock when one is set, by POST and by upsert, and on the database clock otherwise', async () => {
    const at = new Date('2024-02-29T12:34:56.789Z');
    t.clock.set(at);
    try {
      const posted = await t.call('POST', '/v1/members', { body: { email: 'clocked@example.com' } });
      expect(posted.status).toBe(201);
      const upserted = await t.call('PUT', '/v1/members/by-customer-id/clocked-1', { body: { firstName: 'Clocked' }, idempotencyKey: false });
      expect(upserted.status).toBe(201);
      for (const m of [posted.body, upserted.body]) {
        expect([m.enrolledAt, m.createdAt, m.updatedAt]).toEqual([at.toISOString(), at.toISOString(), at.toISOString()]);
        const row = await t.db.db.selectFrom('members').select(['enrolled_at', 'created_at']).where('id', '=', m.id).executeTakeFirstOrThrow();
        expect([row.enrolled_at, row.created_at]).toEqual([at, at]);
      }
    } finally {
      t.clock.current = undefined;
    }
    const before = Date.now();
    const unclocked = await t.call('POST', '/v1/members', { body: { email: 'unclocked@example.com' } });
    expect(Math.abs(new Date(unclocked.body.enrolledAt).getTime() - before)).toBeLessThan(60_000);
  });
});
