import { clockFrom, type Db } from '../db/database.ts';
import { recordEvent } from '../events/event-repository.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';
import { nextRetryAt } from '../jobs/retry-schedule.ts';
import type { WorkerOptions } from '../jobs/worker-options.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { emailTransport, isPermanentSmtpError } from './email-transport.ts';
import { effectiveSettings, kindEnabled } from './lifecycle-settings.ts';
import { isMessageKind, KIND_INFO } from './message-kinds.ts';
import { renderMessage } from './message-render.ts';
import * as repo from './message-repository.ts';
import { sweepLanes } from '../jobs/sweep-lanes.ts';
import { findProgram } from '../programs/program-repository.ts';

type SenderOptions = Pick<WorkerOptions, 'messageLeaseMs' | 'messageRetryScheduleMs' | 'publicUrl' | 'smtpUrl' | 'smtpFrom' | 'sweepBudgetMs' | 'clock'>;

export interface SendResult {
  sent: number;
  skipped: number;
  failed: number;
  retryAt: Date[];
  more: boolean;
}

const LANES = 4;

function domainOf(address: string): string {
  const match = /@([^>\s]+)>?\s*$/.exec(address);
  return match?.[1] ?? 'laurel.invalid';
}

/** The clock a message is judged due by (the database's, from its claim), unless a test clock is given. */
function messageClock(m: repo.ClaimedMessage, options: SenderOptions): () => Date {
  const database = clockFrom(m.now);
  return () => options.clock?.() ?? database();
}

async function processMessage(db: Db, m: repo.ClaimedMessage, options: SenderOptions, result: SendResult) {
  const clock = messageClock(m, options);
  const now = clock();
  const skip = async (reason: string) => {
    if (await repo.updateLeasedMessage(db, m, { status: 'skipped', skip_reason: reason, locked_until: null })) result.skipped++;
  };
  const program = await findProgram(db, m.program_id);
  const settingsRow = await repo.findSettingsRow(db, m.program_id);
  const member = await findMemberRow(db, m.program_id, m.member_id);
  if (!program || !member) return skip('member_not_found');
  if (!settingsRow) return skip('channel_disabled');
  const settings = effectiveSettings(settingsRow.settings);
  if (!isMessageKind(m.kind)) return skip('unknown_kind');
  const kind = m.kind;
  // Everything below is decided at send time: a member who unsubscribed or withdrew consent
  // since the event is respected, as is a merchant who switched the kind or channel off.
  if (!settings.messages.channels.includes(m.channel)) return skip('channel_disabled');
  if (!kindEnabled(settings, m.kind)) return skip('kind_disabled');
  if (member.status !== 'active') return skip('member_blocked');
  if (await repo.findUnsubscribe(db, m.program_id, m.member_id)) return skip('unsubscribed');
  if (KIND_INFO[m.kind].marketing && !member.marketing_consent) return skip('no_marketing_consent');
  if (m.channel === 'email' && !member.email) return skip('no_email');
  if (m.channel === 'webhook' && !member.email && !member.phone) return skip('no_contact');

  // Rendered once and stored: a retry sends exactly the same message.
  let rendered = m.subject !== null && m.body_text !== null && m.body_html !== null && m.locale !== null
    ? { locale: m.locale, subject: m.subject, text: m.body_text, html: m.body_html }
    : null;
  let unsubscribeUrl = typeof m.context.unsubscribeUrl === 'string' ? m.context.unsubscribeUrl : '';
  if (!rendered) {
    const r = await renderMessage(db, {
      kind: m.kind, context: m.context, program, member, settings, publicUrl: options.publicUrl, signingKey: settingsRow.signing_key, now,
    });
    rendered = { locale: r.locale, subject: r.subject, text: r.text, html: r.html };
    unsubscribeUrl = r.unsubscribeUrl;
    const stored = await repo.updateLeasedMessage(db, m, {
      locale: r.locale, subject: r.subject, body_text: r.text, body_html: r.html,
      recipient: m.channel === 'email' ? member.email : (member.email ?? member.phone),
      context: JSON.stringify({ ...m.context, unsubscribeUrl }),
    });
    if (!stored) return;
  }

  if (m.channel === 'webhook') {
    // The event and the "sent" mark commit together: exactly one message.created per message.
    await inTransaction(db, async (trx) => {
      if (!(await repo.updateLeasedMessage(trx, m, { status: 'sent', sent_at: now, locked_until: null, provider_response: 'message.created event' }))) return;
      await recordEvent(trx, m.program_id, 'message.created', m.member_id, {
        messageId: m.id, memberId: m.member_id, kind, locale: rendered.locale, marketing: KIND_INFO[kind].marketing,
        to: { email: member.email, phone: member.phone, name: [member.first_name, member.last_name].filter(Boolean).join(' ') || null },
        subject: rendered.subject, text: rendered.text, html: rendered.html, unsubscribeUrl,
      });
      result.sent++;
    });
    return;
  }

  const transport = emailTransport(settings, options.smtpUrl);
  const from = settings.messages.email.from ?? options.smtpFrom;
  if (!transport || !from) {
    if (await repo.updateLeasedMessage(db, m, { status: 'failed', last_error: 'e-mail is not configured: set messages.email.smtp and from (or LAUREL_SMTP_URL and LAUREL_SMTP_FROM)', locked_until: null })) result.failed++;
    return;
  }
  const ownUnsubscribe = unsubscribeUrl.startsWith(`${options.publicUrl}/unsubscribe/`);
  try {
    const info = await transport.sendMail({
      from,
      to: member.first_name ? { name: [member.first_name, member.last_name].filter(Boolean).join(' '), address: member.email! } : member.email!,
      replyTo: settings.messages.email.replyTo ?? undefined,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      // Stable across retries: a receiving server that sees it twice can tell it is one message.
      messageId: `<${m.id}@${domainOf(from)}>`,
      headers: {
        'X-Laurel-Message-Id': m.id,
        'X-Laurel-Message-Kind': m.kind,
        ...(unsubscribeUrl ? { 'List-Unsubscribe': `<${unsubscribeUrl}>` } : {}),
        ...(ownUnsubscribe ? { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {}),
      },
    });
    if (await repo.updateLeasedMessage(db, m, { status: 'sent', sent_at: now, locked_until: null, provider_response: String(info.response ?? info.messageId).slice(0, 500), last_error: null })) {
      result.sent++;
    }
  } catch (error) {
    const message = ((error as Error).message ?? String(error)).slice(0, 500);
    const retryAt = isPermanentSmtpError(error) ? null : nextRetryAt(options.messageRetryScheduleMs, m.attempts, clock());
    if (retryAt) {
      if (await repo.updateLeasedMessage(db, m, { next_attempt_at: retryAt, last_error: message, locked_until: null })) result.retryAt.push(retryAt);
    } else if (await repo.updateLeasedMessage(db, m, { status: 'failed', last_error: message, locked_until: null })) {
      result.failed++;
    }
  }
}

/**
 * Sends every due message, a few at a time. A message is claimed under a lease with its attempt
 * counted; only the holder of that attempt can mark it sent, so two workers never both send it.
 */
export async function sendDueMessages(db: Db, options: SenderOptions, onError: (error: unknown) => void = () => {}): Promise<SendResult> {
  const result: SendResult = { sent: 0, skipped: 0, failed: 0, retryAt: [], more: false };
  ({ more: result.more } = await sweepLanes(LANES, options.sweepBudgetMs, async () => {
    const [message] = await repo.claimDueMessages(db, 1, options.messageLeaseMs);
    if (!message) return false;
    try {
      await processMessage(db, message, options, result);
    } catch (error) {
      // A rendering bug or a database hiccup: retry later, like a send failure.
      onError(error);
      const retryAt = nextRetryAt(options.messageRetryScheduleMs, message.attempts, messageClock(message, options)());
      const lastError = String((error as Error).message ?? error).slice(0, 500);
      await repo.updateLeasedMessage(db, message, retryAt
        ? { next_attempt_at: retryAt, last_error: lastError, locked_until: null }
        : { status: 'failed', last_error: lastError, locked_until: null }).catch(onError);
      if (retryAt) result.retryAt.push(retryAt);
      else result.failed++;
    }
    return true;
  }));
  return result;
}
