import { describe, expect, it } from 'vitest';
import { insertMessages } from '../../src/notifications/message-repository.ts';
import { setupTestApp } from '../helpers.ts';

describe('the message list', async () => {
  const t = await setupTestApp();

  it('pages through messages written in one transaction (one instant) without skipping or repeating any', async () => {
    const member = await t.member();
    // One statement, one transaction: every row gets the same created_at, so only the id tells them apart.
    await t.db.db.transaction().execute((trx) => insertMessages(trx, Array.from({ length: 7 }, (_, i) => ({
      program_id: t.program.id, member_id: member.id, kind: 'birthday', channel: 'email' as const, dedupe_key: `page-${member.id}-${i}`, event_id: null, context: {},
    }))));
    const all = (await t.call('GET', `/v1/messages?memberId=${member.id}&limit=200`)).body.data.map((m: { id: string }) => m.id);
    expect(all).toHaveLength(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.call('GET', `/v1/messages?memberId=${member.id}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      seen.push(...res.body.data.map((m: { id: string }) => m.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
  });

  it('refuses a cursor it did not return', async () => {
    for (const cursor of ['x', Buffer.from('["not a date","x"]').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      const res = await t.call('GET', `/v1/messages?cursor=${cursor}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'validation_failed', field: 'cursor' });
    }
  });
});
