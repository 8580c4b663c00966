import { describe, expect, it } from 'vitest';
import { setupTestApp } from '../helpers.ts';

describe('program, wallets, stores and API keys', async () => {
  const t = await setupTestApp();

  async function auditActions(subjectId: string): Promise<string[]> {
    const res = await t.call('GET', '/v1/audit-events?limit=200');
    return res.body.data.filter((a: any) => a.subjectId === subjectId).map((a: any) => a.action);
  }

  it('reads and changes the program; refuses unknown time zones and currency changes', async () => {
    const got = await t.call('GET', '/v1/program');
    expect(got.body).toMatchObject({ id: t.program.id, currency: 'USD', currencyExponent: 2, timeZone: 'America/New_York', reversalPolicy: 'allow_negative', settings: {} });
    const patched = await t.call('PATCH', '/v1/program', { body: { name: 'Renamed', timeZone: 'Asia/Seoul', reversalPolicy: 'take_remaining', settings: { defaultCountry: 'KR', brandColor: '#fff' } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Renamed', timeZone: 'Asia/Seoul', reversalPolicy: 'take_remaining', settings: { defaultCountry: 'KR', brandColor: '#fff' } });
    for (const timeZone of ['Mars/Olympus_Mons', '+01:00', '']) {
      const res = await t.call('PATCH', '/v1/program', { body: { timeZone } });
      expect(res.status, timeZone).toBe(timeZone === '' ? 400 : 422);
      if (timeZone) expect(res.body.code).toBe('invalid_time_zone');
    }
    expect((await t.call('PATCH', '/v1/program', { body: { currency: 'EUR' } })).status).toBe(400);
    expect((await t.call('PATCH', '/v1/program', { body: {} })).status).toBe(400);
    expect((await t.call('PATCH', '/v1/program', { body: { reversalPolicy: 'maybe' } })).status).toBe(400);
    expect((await t.call('GET', '/v1/program')).body).toMatchObject({ name: 'Renamed', timeZone: 'Asia/Seoul', currency: 'USD' });
    expect(await auditActions(t.program.id)).toContain('program.updated');
  });

  it('creates, lists, reads and changes wallets with valid expiry policies only', async () => {
    const created = await t.call('POST', '/v1/wallets', { body: { code: 'cashback', name: 'Cashback', unit: 'currency', expiry: { kind: 'days_after_earn', count: 90 }, pendingDays: 14 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ code: 'cashback', unit: 'currency', expiry: { kind: 'days_after_earn', count: 90 }, pendingDays: 14 });
    expect((await t.call('POST', '/v1/wallets', { body: { code: 'cashback', name: 'Again' } })).body).toMatchObject({ status: 409, code: 'wallet_conflict' });

    const bad: [unknown, number][] = [
      [{ kind: 'days_after_earn' }, 400], [{ kind: 'inactivity', count: 0 }, 400], [{ kind: 'never', count: 3 }, 400],
      [{ kind: 'weekly', count: 1 }, 400], [{ kind: 'days_after_earn', count: -1 }, 400], [{ kind: 'days_after_earn', count: 1.5 }, 400],
    ];
    for (const [expiry, status] of bad) {
      expect((await t.call('POST', '/v1/wallets', { body: { code: 'w_bad', name: 'Bad', expiry } })).status, JSON.stringify(expiry)).toBe(status);
    }
    for (const code of ['Points', '1st', 'a-b', 'x'.repeat(33)]) {
      expect((await t.call('POST', '/v1/wallets', { body: { code, name: 'Bad code' } })).status, code).toBe(400);
    }
    for (const expiry of [{ kind: 'end_of_month', count: 0 }, { kind: 'end_of_year', count: 1 }, { kind: 'inactivity', count: 365 }, { kind: 'never' }]) {
      const code = `w_${expiry.kind}`;
      expect((await t.call('POST', '/v1/wallets', { body: { code, name: code, expiry } })).status, code).toBe(201);
    }

    const list = await t.call('GET', '/v1/wallets');
    expect(list.body.data.map((w: any) => w.code)).toEqual(expect.arrayContaining(['points', 'cashback', 'w_end_of_month', 'w_never']));
    expect(list.body.data.map((w: any) => w.code)).not.toContain('w_bad');
    expect((await t.call('GET', '/v1/wallets/cashback')).body.id).toBe(created.body.id);
    expect((await t.call('GET', '/v1/wallets/nope')).body).toMatchObject({ status: 404, code: 'wallet_not_found' });

    const patched = await t.call('PATCH', '/v1/wallets/cashback', { body: { expiry: { kind: 'end_of_year', count: 1 }, name: 'Cash back' } });
    expect(patched.body).toMatchObject({ name: 'Cash back', expiry: { kind: 'end_of_year', count: 1 }, pendingDays: 14, unit: 'currency' });
    expect((await t.call('PATCH', '/v1/wallets/cashback', { body: { expiry: { kind: 'inactivity' } } })).status).toBe(400);
    expect((await t.call('PATCH', '/v1/wallets/cashback', { body: { unit: 'points' } })).status).toBe(400);
    expect((await t.call('PATCH', '/v1/wallets/nope', { body: { name: 'x' } })).status).toBe(404);
    expect((await t.call('GET', '/v1/wallets/cashback')).body.expiry).toEqual({ kind: 'end_of_year', count: 1 });
    expect(await auditActions(created.body.id)).toEqual(['wallet.updated', 'wallet.created']);
  });

  it('holds several stores in one coalition program', async () => {
    const carters = await t.call('POST', '/v1/stores', { body: { code: 'carters', name: "Carter's", kind: 'online', currency: 'USD' } });
    const oshkosh = await t.call('POST', '/v1/stores', { body: { code: 'oshkosh-pos', name: 'OshKosh B’gosh', kind: 'pos' } });
    expect(carters.status).toBe(201);
    expect(oshkosh.body).toMatchObject({ code: 'oshkosh-pos', kind: 'pos', currency: null });
    expect((await t.call('POST', '/v1/stores', { body: { code: 'carters', name: 'Dup', kind: 'app' } })).body).toMatchObject({ status: 409, code: 'store_conflict' });
    expect((await t.call('POST', '/v1/stores', { body: { code: 'x', name: 'X', kind: 'pos', currency: 'XYZ' } })).body).toMatchObject({ status: 422, code: 'invalid_currency' });
    expect((await t.call('POST', '/v1/stores', { body: { code: 'y', name: 'Y', kind: 'pos', currency: 'usd' } })).status).toBe(400);
    expect((await t.call('POST', '/v1/stores', { body: { code: 'z', name: 'Z', kind: 'kiosk' } })).status).toBe(400);
    const list = await t.call('GET', '/v1/stores');
    expect(list.body.data.map((s: any) => s.code)).toEqual(['carters', 'oshkosh-pos']);
    expect((await t.call('GET', `/v1/stores/${oshkosh.body.id}`)).body.name).toBe('OshKosh B’gosh');
    const patched = await t.call('PATCH', `/v1/stores/${oshkosh.body.id}`, { body: { currency: 'CAD', name: 'OshKosh' } });
    expect(patched.body).toMatchObject({ currency: 'CAD', name: 'OshKosh', kind: 'pos' });
    expect((await t.call('PATCH', `/v1/stores/${oshkosh.body.id}`, { body: { currency: 'ABC' } })).body.code).toBe('invalid_currency');
    expect((await t.call('GET', `/v1/stores/${crypto.randomUUID()}`)).body.code).toBe('store_not_found');
    expect((await t.call('PATCH', `/v1/stores/${crypto.randomUUID()}`, { body: { name: 'n' } })).body.code).toBe('store_not_found');
    expect(await auditActions(oshkosh.body.id)).toEqual(['store.updated', 'store.created']);
  });

  it('shows a new key’s secret once, lists keys without secrets, and revokes a key at once', async () => {
    const created = await t.call('POST', '/v1/api-keys', { body: { name: 'POS terminal' } });
    expect(created.status).toBe(201);
    const { key, secret } = created.body;
    expect(secret).toMatch(/^lrl_sk_[A-Za-z0-9_-]{43}$/);
    expect(secret.startsWith(key.prefix)).toBe(true);
    expect(key).toMatchObject({ name: 'POS terminal', revokedAt: null });

    expect((await t.call('GET', '/v1/program', { key: secret })).status).toBe(200);
    const list = await t.call('GET', '/v1/api-keys');
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(-20));
    const listed = list.body.data.find((k: any) => k.id === key.id);
    expect(Object.keys(listed).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt']);
    expect(Date.parse(listed.lastUsedAt)).not.toBeNaN();
    const stored = await t.db.db.selectFrom('api_keys').select('key_hash').where('id', '=', key.id).executeTakeFirstOrThrow();
    expect(stored.key_hash.toString('hex')).not.toContain(Buffer.from(secret).toString('hex'));

    const revoked = await t.call('DELETE', `/v1/api-keys/${key.id}`);
    expect(revoked.status).toBe(200);
    expect(Date.parse(revoked.body.revokedAt)).not.toBeNaN();
    expect((await t.call('GET', '/v1/program', { key: secret })).body).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((await t.call('GET', '/v1/api-keys')).body.data.find((k: any) => k.id === key.id).revokedAt).toBe(revoked.body.revokedAt);
    // Revoking again changes nothing and is not audited twice.
    expect((await t.call('DELETE', `/v1/api-keys/${key.id}`)).body.revokedAt).toBe(revoked.body.revokedAt);
    expect(await auditActions(key.id)).toEqual(['api_key.revoked', 'api_key.created']);
    expect((await t.call('DELETE', `/v1/api-keys/${crypto.randomUUID()}`)).body.code).toBe('api_key_not_found');
    expect((await t.call('POST', '/v1/api-keys', { body: { name: '' } })).status).toBe(400);
    // The key used for the calls above still works.
    expect((await t.call('GET', '/v1/program')).status).toBe(200);
  });
});
