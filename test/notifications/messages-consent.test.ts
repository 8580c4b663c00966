import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/events/event-repository.ts';
import { dispatchOutbox } from '../../src/jobs/outbox-dispatch.ts';
import { registerProgressProvider } from '../../src/notifications/member-progress.ts';
import { closeEmailTransports } from '../../src/notifications/email-transport.ts';
import { sendDueMessages } from '../../src/notifications/message-sender.ts';
import { setupTestApp } from '../helpers.ts';
import { FAST, startReceiver, startTestWorker, waitFor } from '../webhooks/support.ts';
import { startSmtp } from './smtp.ts';

describe('consent, unsubscribes and exactly-once messages', async () => {
  const t = await setupTestApp({ program: { name: 'Shop' } });
  const smtp = await startSmtp();
  await t.call('PATCH', '/v1/lifecycle-settings', {
    body: { messages: { channels: ['email'], email: { from: 'Shop <hello@shop.test>', smtp: smtp.smtp } } },
  });
  const email = () => `c-${randomUUID().slice(0, 8)}@example.test`;
  const messagesOf = async (memberId: string) => (await t.call('GET', `/v1/messages?memberId=${memberId}`)).body.data as any[];
  const birthday = (memberId: string) => t.db.db.transaction().execute((trx) =>
    recordEvent(trx, t.program.id, 'member.birthday', memberId, { memberId, date: '2030-05-01', birthday: '1990-05-01', reward: null }));

  describe('with the worker running', async () => {
    const worker = await startTestWorker(t);

    it('sends marketing messages only to members who consented; service messages to all', async () => {
      const yes = email();
      const no = email();
      const a = await t.member({ email: yes, marketingConsent: true, firstName: 'Yes' });
      const b = await t.member({ email: no, marketingConsent: false, firstName: 'No' });
      await birthday(a.id);
      await birthday(b.id);
      await waitFor(async () => (await messagesOf(b.id)).every((m) => m.status !== 'pending') && (await messagesOf(b.id)).length === 2);
      await waitFor(() => smtp.to(yes).length === 2, 20_000, 'welcome and birthday');
      expect(smtp.to(yes).map((m) => m.subject).sort()).toEqual(['Happy birthday, Yes!', 'Welcome to Shop, Yes!']);
      expect(smtp.to(no).map((m) => m.subject)).toEqual(['Welcome to Shop, No!']);
      const skipped = (await messagesOf(b.id)).find((m) => m.kind === 'birthday');
      expect(skipped).toMatchObject({ status: 'skipped', skipReason: 'no_marketing_consent', subject: null });
      // A member without an e-mail address is skipped with a reason, not failed.
      const noEmail = await t.member({ phone: '+14155550100' });
      await waitFor(async () => (await messagesOf(noEmail.id))[0]?.status === 'skipped');
      expect((await messagesOf(noEmail.id))[0].skipReason).toBe('no_email');
    });

    it('honours the unsubscribe link: confirm page, one-click POST, then nothing more', async () => {
      const address = email();
      const member = await t.member({ email: address, marketingConsent: true, firstName: 'Lee', locale: 'ko' });
      const [welcome] = await waitFor(() => smtp.to(address).length === 1 && smtp.to(address), 20_000, 'the welcome');
      const url = new URL(String(welcome!.raw('list-unsubscribe')).slice(1, -1));
      const path = url.pathname;

      const page = await t.app.inject({ method: 'GET', url: path });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('<form method="post">');
      expect(page.body).toContain('Shop의 모든 멤버십 메시지 수신 거부');
      // Looking at the page (or a mail scanner prefetching it) changes nothing.
      expect((await t.call('GET', `/v1/members/${member.id}/message-preferences`)).body).toMatchObject({ unsubscribed: false, marketingConsent: true });

      const oneClick = await t.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
      expect(oneClick.statusCode).toBe(200);
      expect(oneClick.body).toContain('Shop의 멤버십 메시지를 더 이상 받지 않습니다');
      expect((await t.app.inject({ method: 'POST', url: path })).statusCode).toBe(200);
      const prefs = (await t.call('GET', `/v1/members/${member.id}/message-preferences`)).body;
      expect(prefs).toMatchObject({ unsubscribed: true, marketingConsent: false, unsubscribeSource: 'link' });
      expect((await t.call('GET', `/v1/members/${member.id}`)).body.marketingConsent).toBe(false);
      const updated = await t.call('GET', `/v1/events?memberId=${member.id}&type=member.updated`);
      expect(updated.body.data.at(-1).data).toMatchObject({ actor: 'unsubscribe_link', member: { marketingConsent: false } });

      await t.earn(member.id, 10);
      await waitFor(async () => (await messagesOf(member.id)).some((m) => m.kind === 'points_earned' && m.status === 'skipped'));
      expect((await messagesOf(member.id)).find((m) => m.kind === 'points_earned').skipReason).toBe('unsubscribed');
      expect(smtp.to(address)).toHaveLength(1);

      const [ids, mac] = path.slice('/unsubscribe/'.length).split('.') as [string, string];
      const forged = `/unsubscribe/${ids}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
      const bad = await t.app.inject({ method: 'POST', url: forged });
      expect(bad.statusCode).toBe(404);
      expect(bad.body).toContain('This unsubscribe link is not valid.');
      expect((await t.app.inject({ method: 'GET', url: '/unsubscribe/nonsense' })).statusCode).toBe(404);

      // Subscribed again through the API (e.g. from the shop's account page).
      const again = await t.call('PUT', `/v1/members/${member.id}/message-preferences`, { body: { unsubscribed: false } });
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body).toMatchObject({ unsubscribed: false });
      await t.earn(member.id, 11);
      await waitFor(() => smtp.to(address).length === 2, 20_000, 'a mail after resubscribing');
    });

    it('delivers messages to the shop’s e-mail/SMS tool as signed message.created webhooks', async () => {
      const receiver = await startReceiver();
      await t.call('POST', '/v1/webhook-endpoints', { body: { url: receiver.url, eventTypes: ['message.created'] } });
      await t.call('PATCH', '/v1/lifecycle-settings', { body: { messages: { channels: ['email', 'webhook'] } } });
      const member = await t.member({ phone: '+14155550123', firstName: 'Kim', locale: 'ja' });
      const hook = await waitFor(() => receiver.acknowledged().find((r) => r.json.data.memberId === member.id), 20_000, 'the message webhook');
      expect(hook.json).toMatchObject({
        type: 'message.created', memberId: member.id,
        data: { kind: 'welcome', locale: 'ja', marketing: false, to: { email: null, phone: '+14155550123', name: 'Kim' }, subject: 'Shopへようこそ、Kim様' },
      });
      expect(hook.json.data.html).toContain('<!doctype html>');
      const log = await waitFor(async () => {
        const rows = await messagesOf(member.id);
        return rows.length === 2 && rows.every((m) => m.status !== 'pending') && rows;
      });
      expect(log.map((m) => `${m.channel}:${m.status}`).sort()).toEqual(['email:skipped', 'webhook:sent']);
      await t.call('PATCH', '/v1/lifecycle-settings', { body: { messages: { channels: ['email'] } } });
    });

    it('fills "N points to the next tier or reward" from registered progress providers, once per target', async () => {
      const unregister = registerProgressProvider('test-tiers', async (_db, { memberId }) => {
        const balance = Number((await t.db.db.selectFrom('accounts').select('balance').where('member_id', '=', memberId).where('kind', '=', 'available').executeTakeFirst())?.balance ?? 0);
        return { tier: { id: 'silver', name: 'Silver' }, nextTier: { id: 'gold', name: 'Gold', gap: Math.max(0, 1000 - balance), unit: 'points' } };
      });
      afterAll(unregister);
      await t.call('PATCH', '/v1/lifecycle-settings', { body: { messages: { pointsToNextThreshold: 200 } } });
      const address = email();
      const member = await t.member({ email: address, marketingConsent: true, firstName: 'Ana' });
      await t.earn(member.id, 850);
      const nudge = await waitFor(() => smtp.to(address).find((m) => m.subject.startsWith('Just')), 20_000, 'the nudge');
      expect(nudge.subject).toBe('Just 150 points to Gold');
      expect(nudge.text).toContain('You are only 150 points away from Gold.');
      const earned = await waitFor(() => smtp.to(address).find((m) => m.subject === 'You earned 850 points'), 20_000, 'the earn mail');
      expect(earned.text).toContain('Only 150 points to go until Gold.');
      await t.earn(member.id, 50);
      await waitFor(() => smtp.to(address).some((m) => m.subject === 'You earned 50 points'), 20_000, 'the second earn mail');
      // The second earn left the member 100 points short: same target, no second nudge.
      await waitFor(async () => (await messagesOf(member.id)).every((m) => m.status !== 'pending'));
      expect((await messagesOf(member.id)).filter((m) => m.kind === 'points_to_next')).toHaveLength(1);
      unregister();
    });

    it('congratulates on a tier up (not a tier down)', async () => {
      const address = email();
      const member = await t.member({ email: address, firstName: 'Bo' });
      await t.db.db.transaction().execute(async (trx) => {
        await recordEvent(trx, t.program.id, 'tier.changed', member.id, { memberId: member.id, from: 'silver', to: 'gold', direction: 'up', reason: 'qualified' });
        await recordEvent(trx, t.program.id, 'tier.changed', member.id, { memberId: member.id, from: 'gold', to: 'silver', direction: 'down', reason: 'review' });
      });
      const mail = await waitFor(() => smtp.to(address).find((m) => m.subject.startsWith('Welcome to gold')), 20_000, 'the tier mail');
      expect(mail.text).toContain('you have reached gold at Shop');
      await waitFor(async () => (await messagesOf(member.id)).every((m) => m.status !== 'pending'));
      expect((await messagesOf(member.id)).filter((m) => m.kind === 'tier_up')).toHaveLength(1);
    });

    it('stops', async () => {
      await worker.stop();
    });
  });

  it('never sends a message twice: re-dispatched events and concurrent senders', async () => {
    const address = email();
    const member = await t.member({ email: address, firstName: 'Once' });
    for (let i = 1; i <= 5; i++) await t.earn(member.id, i);
    await dispatchOutbox(t.db.db, { batchSize: 3, budgetMs: 10_000 });
    // A crash after the outbox committed but before anything else: the same events dispatched again.
    await t.db.db.updateTable('events').set({ dispatched_at: null }).where('member_id', '=', member.id).execute();
    await Promise.all([dispatchOutbox(t.db.db, { batchSize: 2, budgetMs: 10_000 }), dispatchOutbox(t.db.db, { batchSize: 4, budgetMs: 10_000 })]);
    const rows = await t.db.db.selectFrom('messages').select(['id', 'kind']).where('member_id', '=', member.id).execute();
    expect(rows).toHaveLength(6);

    const options = { ...FAST, smtpUrl: undefined, smtpFrom: undefined } as Parameters<typeof sendDueMessages>[1];
    const results = await Promise.all([sendDueMessages(t.db.db, options), sendDueMessages(t.db.db, options), sendDueMessages(t.db.db, options)]);
    expect(results.reduce((sum, r) => sum + r.sent, 0)).toBe(6);
    // A job retried after it finished finds nothing to do.
    expect((await sendDueMessages(t.db.db, options)).sent).toBe(0);
    await waitFor(() => smtp.to(address).length === 6, 20_000, 'six mails');
    await new Promise((r) => setTimeout(r, 300));
    const ids = smtp.to(address).map((m) => m.laurelId);
    expect(new Set(ids).size).toBe(6);
    expect(ids.sort()).toEqual(rows.map((r) => r.id).sort());
    closeEmailTransports();
  });
});
