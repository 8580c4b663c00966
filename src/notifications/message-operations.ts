import { randomUUID } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { Db, Executor, Tx } from '../db/database.ts';
import type { MessageStatus } from '../db/schema.ts';
import { ProblemError } from '../http/error-codes.ts';
import { getMember, updateMember } from '../members/member-operations.ts';
import { findMemberRow } from '../members/member-repository.ts';
import { insertAuditEvent, listWallets } from '../programs/program-repository.ts';
import { DEFAULT_TEMPLATES, LOCALE_STRINGS } from './default-templates.ts';
import {
  deepMerge, effectiveSettings, LifecycleSettingsSchema, maskSecrets, PASSWORD_MASK, type LifecycleSettings,
} from './lifecycle-settings.ts';
import { isMessageKind, KIND_INFO, MESSAGE_KINDS, SHIPPED_LOCALES, TEMPLATE_VARIABLES, type MessageKind } from './message-kinds.ts';
import { renderMessage, unsubscribeUrlFor } from './message-render.ts';
import * as repo from './message-repository.ts';
import { templateProblems } from './template-render.ts';
import { parseUnsubscribeToken, unsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.ts';
import { decodeKeyCursor, encodeKeyCursor, keyOf } from '../http/cursor.ts';
import { findProgram } from '../programs/program-repository.ts';

// ---------------------------------------------------------------- settings

export async function getSettings(db: Executor, programId: string): Promise<LifecycleSettings> {
  const row = await repo.findSettingsRow(db, programId);
  return maskSecrets(effectiveSettings(row?.settings));
}

export async function updateSettings(trx: Tx, programId: string, actor: string, patch: Record<string, unknown>) {
  const row = await repo.lockSettingsRow(trx, programId);
  const current = effectiveSettings(row.settings);
  const merged = deepMerge(current, patch) as LifecycleSettings;
  // The masked password a client read back means "unchanged".
  const smtp = merged.messages?.email?.smtp;
  if (smtp && smtp.password === PASSWORD_MASK) smtp.password = current.messages.email.smtp?.password ?? null;
  if (!Value.Check(LifecycleSettingsSchema, merged)) {
    const errors = [...Value.Errors(LifecycleSettingsSchema, merged)].slice(0, 20).map((e) => ({ path: e.path, message: e.message }));
    throw new ProblemError('validation_failed', errors.map((e) => `${e.path} ${e.message}`).join('; '), { errors });
  }
  for (const kind of Object.keys(merged.messages.kinds)) {
    if (!isMessageKind(kind)) throw new ProblemError('unknown_message_kind', `"${kind}" is not a message kind (${MESSAGE_KINDS.join(', ')})`, { kind });
  }
  try {
    Intl.getCanonicalLocales(merged.messages.defaultLocale);
  } catch {
    throw new ProblemError('validation_failed', `"${merged.messages.defaultLocale}" is not a BCP 47 locale`, { field: 'messages.defaultLocale' });
  }
  const walletCodes = new Set((await listWallets(trx, programId)).map((w) => w.code));
  for (const code of [...(merged.birthday.points > 0 ? [merged.birthday.wallet] : []), ...Object.keys(merged.expiringReminders.wallets)]) {
    if (!walletCodes.has(code)) throw new ProblemError('unknown_wallet', `this program has no wallet "${code}"`, { wallet: code });
  }
  await repo.saveSettings(trx, programId, merged);
  await insertAuditEvent(trx, {
    program_id: programId, actor, action: 'lifecycle_settings.updated', subject_type: 'program', subject_id: programId,
    details: maskSecrets(deepMerge(current, patch) as LifecycleSettings) as unknown as Record<string, unknown>,
  });
  return maskSecrets(merged);
}

// ---------------------------------------------------------------- templates

function assertKind(kind: string): MessageKind {
  if (!isMessageKind(kind)) throw new ProblemError('unknown_message_kind', `"${kind}" is not a message kind (${MESSAGE_KINDS.join(', ')})`, { kind });
  return kind;
}

function canonicalLocale(locale: string): string {
  try {
    const [canonical] = Intl.getCanonicalLocales(locale);
    if (canonical) return canonical;
  } catch {
    // reported below
  }
  throw new ProblemError('validation_failed', `"${locale}" is not a BCP 47 locale such as en, ko or zh-Hant`, { field: 'locale' });
}

export function templateView(kind: MessageKind, locale: string, t: { subject: string; body: string }, custom: { updated_at: Date; updated_by: string } | null) {
  return {
    kind, locale, subject: t.subject, body: t.body, source: custom ? 'custom' as const : 'default' as const,
    marketing: KIND_INFO[kind].marketing, trigger: KIND_INFO[kind].trigger,
    updatedAt: custom?.updated_at.toISOString() ?? null, updatedBy: custom?.updated_by ?? null,
  };
}

export async function listTemplates(db: Executor, programId: string, filter: { kind?: string; locale?: string }) {
  const kinds = filter.kind ? [assertKind(filter.kind)] : [...MESSAGE_KINDS];
  const overrides = await repo.listTemplateOverrides(db, programId);
  const out = [];
  for (const kind of kinds) {
    const own = overrides.filter((o) => o.kind === kind);
    const locales = [...new Set([...SHIPPED_LOCALES, ...own.map((o) => o.locale)])];
    for (const locale of locales) {
      if (filter.locale && locale.toLowerCase() !== filter.locale.toLowerCase()) continue;
      const custom = own.find((o) => o.locale === locale) ?? null;
      out.push(templateView(kind, locale, custom ?? DEFAULT_TEMPLATES[kind][locale]!, custom));
    }
  }
  return out;
}

export async function getTemplate(db: Executor, programId: string, rawKind: string, rawLocale: string) {
  const kind = assertKind(rawKind);
  const locale = canonicalLocale(rawLocale);
  const custom = await repo.findTemplateOverride(db, programId, kind, locale);
  if (custom) return templateView(kind, custom.locale, custom, custom);
  const shipped = SHIPPED_LOCALES.find((l) => l.toLowerCase() === locale.toLowerCase());
  if (!shipped) throw new ProblemError('template_not_found', `no ${kind} template in "${locale}" (shipped: ${SHIPPED_LOCALES.join(', ')})`, { kind, locale });
  return templateView(kind, shipped, DEFAULT_TEMPLATES[kind][shipped]!, null);
}

function assertTemplate(subject: string, body: string) {
  const allowed = Object.keys(TEMPLATE_VARIABLES);
  const problems = [...templateProblems(subject, allowed).map((p) => `subject: ${p}`), ...templateProblems(body, allowed).map((p) => `body: ${p}`)];
  if (problems.length > 0) throw new ProblemError('invalid_template', problems.join('; '), { problems, variables: allowed });
}

export async function putTemplate(trx: Tx, programId: string, actor: string, rawKind: string, rawLocale: string, input: { subject: string; body: string }) {
  const kind = assertKind(rawKind);
  const shipped = SHIPPED_LOCALES.find((l) => l.toLowerCase() === rawLocale.toLowerCase());
  const locale = shipped ?? canonicalLocale(rawLocale);
  assertTemplate(input.subject, input.body);
  const row = await repo.upsertTemplate(trx, { program_id: programId, kind, locale, subject: input.subject, body: input.body, updated_by: actor });
  await insertAuditEvent(trx, { program_id: programId, actor, action: 'message_template.updated', subject_type: 'message_template', subject_id: `${kind}/${locale}`, details: input });
  return templateView(kind, row.locale, row, row);
}

export async function deleteTemplate(trx: Tx, programId: string, actor: string, rawKind: string, rawLocale: string) {
  const kind = assertKind(rawKind);
  const locale = canonicalLocale(rawLocale);
  if (!(await repo.deleteTemplate(trx, programId, kind, locale))) {
    throw new ProblemError('template_not_found', `the program has no own ${kind} template in "${locale}"`, { kind, locale });
  }
  await insertAuditEvent(trx, { program_id: programId, actor, action: 'message_template.reset', subject_type: 'message_template', subject_id: `${kind}/${locale}` });
}

/** Renders a template (stored, or the one in the request) for a member or a sample member; nothing is sent. */
export async function previewTemplate(
  db: Db, programId: string, rawKind: string, rawLocale: string, publicUrl: string,
  input: { memberId?: string; subject?: string; body?: string; context?: Record<string, unknown> },
) {
  const kind = assertKind(rawKind);
  const locale = canonicalLocale(rawLocale);
  const stored = input.subject === undefined || input.body === undefined ? await getTemplate(db, programId, kind, locale) : null;
  const subject = input.subject ?? stored!.subject;
  const body = input.body ?? stored!.body;
  assertTemplate(subject, body);
  const program = await findProgram(db, programId);
  if (!program) throw new ProblemError('program_not_found');
  const member = input.memberId
    ? await getMember(db, programId, input.memberId)
    : { id: randomUUID(), first_name: 'Alex', last_name: 'Kim', locale };
  const settings = effectiveSettings((await repo.findSettingsRow(db, programId))?.settings);
  const rendered = await renderMessage(db, {
    kind, context: input.context ?? {}, program, member: { ...member, locale }, settings, publicUrl,
    signingKey: await repo.signingKeyOf(db, programId), now: new Date(),
  }, { subject, body });
  return { kind, locale: rendered.locale, subject: rendered.subject, text: rendered.text, html: rendered.html, variables: rendered.variables };
}

// ---------------------------------------------------------------- message log

export function messageView(m: repo.MessageRow) {
  return {
    id: m.id, memberId: m.member_id, kind: m.kind, channel: m.channel, status: m.status, skipReason: m.skip_reason,
    eventId: m.event_id === null ? null : `evt_${m.event_id}`, locale: m.locale, recipient: m.recipient, subject: m.subject,
    text: m.body_text, attempts: m.attempts, nextAttemptAt: m.status === 'pending' ? m.next_attempt_at.toISOString() : null,
    lastError: m.last_error, sentAt: m.sent_at?.toISOString() ?? null, createdAt: m.created_at.toISOString(),
  };
}

export async function listMessageViews(
  db: Executor, programId: string,
  query: { memberId?: string; kind?: string; status?: MessageStatus; channel?: 'email' | 'webhook'; cursor?: string; limit?: number },
) {
  const limit = query.limit ?? 50;
  const rows = await repo.listMessages(db, programId, { ...query, before: query.cursor ? keyOf(decodeKeyCursor(query.cursor)) : undefined, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return { data: page.map(messageView), nextCursor: rows.length > limit ? encodeKeyCursor(page[page.length - 1]!.created_at, page[page.length - 1]!.id) : null };
}

export async function getMessageView(db: Executor, programId: string, id: string) {
  const m = await repo.findMessage(db, programId, id);
  if (!m) throw new ProblemError('message_not_found', `no message ${id} in this program`);
  return { ...messageView(m), html: m.body_html, context: m.context };
}

// ---------------------------------------------------------------- preferences and unsubscribes

export async function getPreferences(db: Executor, programId: string, memberId: string, publicUrl: string) {
  const member = await getMember(db, programId, memberId);
  const unsubscribed = await repo.findUnsubscribe(db, programId, memberId);
  const settings = effectiveSettings((await repo.findSettingsRow(db, programId))?.settings);
  const token = unsubscribeToken(await repo.signingKeyOf(db, programId), programId, memberId);
  return {
    memberId,
    marketingConsent: member.marketing_consent,
    unsubscribed: Boolean(unsubscribed),
    unsubscribedAt: unsubscribed?.created_at.toISOString() ?? null,
    unsubscribeSource: unsubscribed?.source ?? null,
    unsubscribeUrl: unsubscribeUrlFor(settings, publicUrl, token),
  };
}

export async function setUnsubscribed(trx: Tx, programId: string, actor: string, memberId: string, unsubscribed: boolean, publicUrl: string) {
  if (!(await findMemberRow(trx, programId, memberId))) throw new ProblemError('member_not_found');
  if (unsubscribed) await repo.insertUnsubscribe(trx, programId, memberId, 'api');
  else await repo.deleteUnsubscribe(trx, programId, memberId);
  await insertAuditEvent(trx, {
    program_id: programId, actor, action: unsubscribed ? 'member.unsubscribed' : 'member.resubscribed', subject_type: 'member', subject_id: memberId,
  });
  return getPreferences(trx, programId, memberId, publicUrl);
}

/** The member and program a token names, or a 404 problem when it is forged, cut or stale. */
export async function resolveUnsubscribeToken(db: Db, token: string) {
  const parsed = parseUnsubscribeToken(token);
  const invalid = new ProblemError('invalid_unsubscribe_token');
  if (!parsed) throw invalid;
  const settings = await repo.findSettingsRow(db, parsed.programId);
  if (!settings || !verifyUnsubscribeToken(settings.signing_key, parsed)) throw invalid;
  const program = await findProgram(db, parsed.programId);
  const member = await findMemberRow(db, parsed.programId, parsed.memberId);
  if (!program || !member) throw invalid;
  return { program, member };
}

/**
 * The member clicked "unsubscribe": no more loyalty messages of any kind, and marketing consent
 * withdrawn (a member.updated event tells the shop). Idempotent: a second click changes nothing.
 */
export async function unsubscribeWithToken(db: Db, token: string) {
  const { program, member } = await resolveUnsubscribeToken(db, token);
  await repo.insertUnsubscribe(db, program.id, member.id, 'link');
  if (member.marketing_consent) {
    await updateMember(db, { id: program.id, settings: program.settings }, 'unsubscribe_link', member.id, { marketingConsent: false });
  }
  return { program, member };
}

export function unsubscribePageStrings(locale: string | null) {
  const available = Object.keys(LOCALE_STRINGS);
  const lower = (locale ?? '').toLowerCase();
  const key = available.find((l) => l.toLowerCase() === lower)
    ?? (lower.startsWith('zh') && /hant|tw|hk|mo/.test(lower) ? 'zh-Hant' : available.find((l) => lower.split('-')[0] === l && l !== 'zh-Hant'))
    ?? 'en';
  return { locale: key, ...LOCALE_STRINGS[key]!.unsubscribePage };
}
