import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recordEvent } from '../../src/events/event-repository.ts';
import { setupTestApp } from '../helpers.ts';
import { startTestWorker, waitFor } from '../webhooks/support.ts';
import { startSmtp } from './smtp.ts';

describe('lifecycle messages by e-mail', async () => {
  const t = await setupTestApp({ program: { name: 'Laurel Café' } });
  const smtp = await startSmtp();
  const settings = await t.call('PATCH', '/v1/lifecycle-settings', {
    body: { messages: { channels: ['email'], email: { from: 'Laurel Café <loyalty@cafe.test>', replyTo: 'help@cafe.test', smtp: { ...smtp.smtp, user: 'u', password: 'secret-pw' } } } },
  });
  // The test server accepts any login; the password must never be read back.
  await t.call('PATCH', '/v1/lifecycle-settings', { body: { messages: { email: { smtp: { ...smtp.smtp } } } } });
  await startTestWorker(t);
  const email = () => `m-${randomUUID().slice(0, 8)}@example.test`;

  it('stores the settings and never shows the SMTP password', async () => {
    expect(settings.status).toBe(200);
    expect(settings.body.messages.email.smtp.password).toBe('********');
    const read = await t.call('GET', '/v1/lifecycle-settings');
    expect(read.body.messages).toMatchObject({ channels: ['email'], defaultLocale: 'en', email: { from: 'Laurel Café <loyalty@cafe.test>' } });
    expect(read.body.expiringReminders.daysBefore).toEqual([30, 7]);
    const bad = await t.call('PATCH', '/v1/lifecycle-settings', { body: { messages: { channels: ['sms'] } } });
    expect(bad.status).toBe(400);
    const unknownKind = await t.call('PATCH', '/v1/lifecycle-settings', { body: { messages: { kinds: { newsletter: true } } } });
    expect(unknownKind.body.code).toBe('unknown_message_kind');
    const unknownWallet = await t.call('PATCH', '/v1/lifecycle-settings', { body: { birthday: { points: 50, wallet: 'stars' } } });
    expect(unknownWallet.body.code).toBe('unknown_wallet');
    expect((await t.call('GET', '/v1/lifecycle-settings')).body.birthday).toEqual({ enabled: true, points: 0, wallet: 'points' });
  });

  it('welcomes a member in Korean, with an unsubscribe link and a stable Message-ID', async () => {
    const address = email();
    const member = await t.member({ email: address, firstName: '지민', locale: 'ko-KR' });
    const [mail] = await waitFor(() => smtp.to(address).length >= 1 && smtp.to(address), 20_000, 'the welcome mail');
    expect(mail!.subject).toBe('Laurel Café에 오신 것을 환영합니다, 지민님!');
    expect(mail!.text).toContain('지민님, 안녕하세요.');
    expect(mail!.from).toBe('"Laurel Café" <loyalty@cafe.test>');
    expect(mail!.to).toBe(`"지민" <${address}>`);
    const unsubscribe = String(mail!.raw('list-unsubscribe'));
    expect(unsubscribe).toMatch(/^<http:\/\/laurel\.test\/unsubscribe\/[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}>$/);
    expect(mail!.raw('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail!.html).toContain(unsubscribe.slice(1, -1));
    expect(mail!.text).toContain('이메일 수신 거부');
    // The server accepted the mail a moment before the worker recorded it as sent.
    const log = await waitFor(async () => {
      const data = (await t.call('GET', `/v1/messages?memberId=${member.id}`)).body.data;
      return data[0]?.status === 'sent' && data;
    });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ kind: 'welcome', channel: 'email', status: 'sent', locale: 'ko', recipient: address, subject: mail!.subject });
    expect(mail!.messageId).toBe(`<${log[0].id}@cafe.test>`);
    expect(mail!.laurelId).toBe(log[0].id);
  });

  it('formats points and dates in the member’s locale and the program calendar', async () => {
    const ja = email();
    const th = email();
    const zh = email();
    const mJa = await t.member({ email: ja, firstName: '花子', locale: 'ja' });
    const mTh = await t.member({ email: th, firstName: 'สมชาย', locale: 'th' });
    const mZh = await t.member({ email: zh, firstName: '美玲', locale: 'zh-TW' });
    await t.earn(mJa.id, 1234);
    await waitFor(() => smtp.to(ja).length >= 2, 20_000, 'the points mail');
    const earned = smtp.to(ja).find((m) => m.subject.includes('獲得'))!;
    expect(earned.subject).toBe('1,234ポイントを獲得しました');
    expect(earned.text).toContain('現在のポイント残高は1,234ポイントです');

    // A reminder event as the daily job writes it.
    await t.earn(mTh.id, 2500);
    await t.earn(mZh.id, 40);
    await t.db.db.transaction().execute(async (trx) => {
      for (const [m, amount] of [[mTh, 2500], [mZh, 40]] as const) {
        await recordEvent(trx, t.program.id, 'points.expiring_soon', m.id, {
          memberId: m.id, wallet: 'points', amount, expiresAt: '2025-04-01T04:00:00.000Z', lastDay: '2025-03-31', daysLeft: 7, reminderDays: 7,
        });
      }
    });
    const thai = await waitFor(() => smtp.to(th).find((m) => m.subject.includes('2568')), 20_000, 'the Thai reminder');
    expect(thai.subject).toBe('2,500 คะแนนของคุณใช้ได้ถึงวันที่ 31 มีนาคม 2568');
    const chinese = await waitFor(() => smtp.to(zh).find((m) => m.subject.includes('到期')), 20_000, 'the Chinese reminder');
    expect(chinese.subject).toBe('您有 40 點將於2025年3月31日後到期');
    expect(chinese.text).toContain('美玲 您好');
  });

  it('uses the merchant’s own template, refuses broken ones, and previews without sending', async () => {
    const broken = await t.call('PUT', '/v1/message-templates/points_earned/en', { body: { subject: 'Hi {{nmae}}', body: '{{#tierName}}open' } });
    expect(broken.status).toBe(422);
    expect(broken.body.code).toBe('invalid_template');
    expect(broken.body.problems).toEqual(['subject: unknown variable {{nmae}}', 'body: {{#tierName}} is never closed']);
    const put = await t.call('PUT', '/v1/message-templates/points_earned/en', {
      body: { subject: '+{{points}} for {{name}}', body: 'Balance: {{balance}}{{#tierName}} ({{tierName}}){{/tierName}}.' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ kind: 'points_earned', locale: 'en', source: 'custom' });
    const list = await t.call('GET', '/v1/message-templates?kind=points_earned');
    expect(list.body.data.map((x: { locale: string; source: string }) => `${x.locale}:${x.source}`)).toEqual(['en:custom', 'ko:default', 'ja:default', 'zh-Hant:default', 'th:default']);

    const preview = await t.call('POST', '/v1/message-templates/points_earned/en/preview', { body: { context: { points: 50 } } });
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toBe('+50 for Alex');
    expect(preview.body.text).toMatch(/^Balance: 0\.\n\n--\nUnsubscribe from these e-mails: http:\/\/.+\/unsubscribe\/[\w-]{43}\.[\w-]{22}$/);

    const address = email();
    const member = await t.member({ email: address, firstName: 'Sam' });
    await t.earn(member.id, 75);
    const mail = await waitFor(() => smtp.to(address).find((m) => m.subject.startsWith('+')), 20_000, 'the custom mail');
    expect(mail.subject).toBe('+75 for Sam');
    expect(mail.text.startsWith('Balance: 75.')).toBe(true);

    expect((await t.call('DELETE', '/v1/message-templates/points_earned/en')).status).toBe(204);
    expect((await t.call('GET', '/v1/message-templates/points_earned/en')).body.source).toBe('default');
    expect((await t.call('DELETE', '/v1/message-templates/points_earned/en')).body.code).toBe('template_not_found');
    expect((await t.call('GET', '/v1/message-templates/points_earned/de')).body.code).toBe('template_not_found');
    expect((await t.call('GET', '/v1/message-templates/newsletter/en')).body.code).toBe('unknown_message_kind');
    // A locale Laurel does not ship, added by the merchant, is used for members of that locale.
    await t.call('PUT', '/v1/message-templates/welcome/de', { body: { subject: 'Willkommen, {{name}}!', body: 'Schön, dass du da bist.' } });
    const de = email();
    await t.member({ email: de, firstName: 'Jonas', locale: 'de-AT' });
    expect((await waitFor(() => smtp.to(de)[0], 20_000, 'the German welcome')).subject).toBe('Willkommen, Jonas!');
  });

  it('retries a temporary SMTP refusal without ever sending twice, and gives up on a permanent one', async () => {
    const flaky = email();
    const gone = email();
    let refusals = 2;
    smtp.setReject((address) => (address === flaky && refusals-- > 0 ? 451 : address === gone ? 550 : null));
    const a = await t.member({ email: flaky });
    const b = await t.member({ email: gone });
    await waitFor(() => smtp.to(flaky).length >= 1, 20_000, 'the retried mail');
    const sent = await waitFor(async () => {
      const [m] = (await t.call('GET', `/v1/messages?memberId=${a.id}`)).body.data;
      return m?.status === 'sent' && m;
    });
    expect(sent).toMatchObject({ status: 'sent', attempts: 3 });
    const failed = await waitFor(async () => {
      const [m] = (await t.call('GET', `/v1/messages?memberId=${b.id}`)).body.data;
      return m?.status === 'failed' && m;
    });
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toMatch(/550/);
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.to(flaky)).toHaveLength(1);
    smtp.setReject(() => null);
  });
});
