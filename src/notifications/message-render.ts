import type { Db, Executor } from '../db/database.ts';
import { DEFAULT_TEMPLATES, LOCALE_STRINGS, type TemplateText } from './default-templates.ts';
import type { LifecycleSettings } from './lifecycle-settings.ts';
import { daysBetween, formatLocalDate, formatMoney, formatNumber, localDateOf, resolveLocale } from './locale-format.ts';
import { memberProgress, type MemberProgress } from './member-progress.ts';
import { isMessageKind, SHIPPED_LOCALES, type MessageKind, type TemplateVariable } from './message-kinds.ts';
import * as repo from './message-repository.ts';
import { renderHtml, renderSubject, renderText } from './template-render.ts';
import { unsubscribeToken } from './unsubscribe-token.ts';

const UNIT_WORDS: Record<string, { points: (n: string) => string; orders: (n: string) => string }> = {
  en: { points: (n) => `${n} points`, orders: (n) => `${n} orders` },
  ko: { points: (n) => `${n} 포인트`, orders: (n) => `${n}회 구매` },
  ja: { points: (n) => `${n}ポイント`, orders: (n) => `${n}回のご注文` },
  'zh-Hant': { points: (n) => `${n} 點`, orders: (n) => `${n} 筆訂單` },
  th: { points: (n) => `${n} คะแนน`, orders: (n) => `${n} คำสั่งซื้อ` },
};

export interface RenderInput {
  kind: MessageKind;
  context: Record<string, unknown>;
  program: { id: string; name: string; currency: string; currency_exponent: number; time_zone: string };
  member: { id: string; first_name: string | null; last_name: string | null; locale: string | null };
  settings: LifecycleSettings;
  publicUrl: string;
  signingKey: Buffer;
  now: Date;
}

export interface Rendered {
  locale: string;
  subject: string;
  text: string;
  html: string;
  unsubscribeUrl: string;
  variables: Record<TemplateVariable, string>;
}

export function unsubscribeUrlFor(settings: LifecycleSettings, publicUrl: string, token: string): string {
  const own = settings.messages.unsubscribeUrl;
  return own ? own.replace('{token}', encodeURIComponent(token)) : `${publicUrl}/unsubscribe/${token}`;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The template of a kind in the member's locale: the merchant's own, else the shipped one. */
export async function templateFor(db: Executor, programId: string, kind: MessageKind, wanted: string | null, defaultLocale: string) {
  const overrides = (await repo.listTemplateOverrides(db, programId)).filter((t) => t.kind === kind);
  const available = [...new Set([...SHIPPED_LOCALES, ...overrides.map((t) => t.locale)])];
  const locale = resolveLocale(wanted, available, [defaultLocale, 'en']);
  const own = overrides.find((t) => t.locale.toLowerCase() === locale.toLowerCase());
  const template: TemplateText | undefined = own ? { subject: own.subject, body: own.body } : DEFAULT_TEMPLATES[kind][locale];
  return { locale, template: template ?? DEFAULT_TEMPLATES[kind].en!, custom: Boolean(own) };
}

/**
 * Everything a template can say about this member and message, formatted in the message's
 * locale: numbers with its separators, money in the program currency, dates of the program
 * calendar in its long date style.
 */
export async function messageVariables(db: Executor, input: RenderInput, locale: string, progress: MemberProgress): Promise<Record<TemplateVariable, string>> {
  const { context, program, member } = input;
  const strings = LOCALE_STRINGS[locale] ?? LOCALE_STRINGS.en!;
  const units = UNIT_WORDS[locale] ?? UNIT_WORDS.en!;
  const walletCode = str(context.wallet) ?? 'points';
  const wallet = await repo.walletBalance(db, program.id, member.id, walletCode);
  const amount = (n: number) => (wallet?.unit === 'currency' ? formatMoney(n, program.currency, program.currency_exponent, locale) : formatNumber(n, locale));
  const points = num(context.points);
  const lastDay = str(context.lastDay);
  const today = localDateOf(input.now, program.time_zone);
  // points_to_next carries the target it fired for; other kinds show the member's live progress.
  const nextTier = context.target === 'reward' ? null : ((context.nextTier as MemberProgress['nextTier']) ?? progress.nextTier);
  const nextReward = context.target === 'tier' ? null : ((context.nextReward as MemberProgress['nextReward']) ?? progress.nextReward);
  let nextTierGap = '';
  if (nextTier) {
    nextTierGap = nextTier.unit === 'money' ? formatMoney(nextTier.gap, program.currency, program.currency_exponent, locale)
      : nextTier.unit === 'orders' ? units.orders(formatNumber(nextTier.gap, locale)) : units.points(formatNumber(nextTier.gap, locale));
  }
  const ownReward = str(context.rewardName);
  const rewardName = ownReward ?? nextReward?.name ?? '';
  const rewardCost = ownReward ? num(context.rewardCost) : nextReward?.cost;
  const tierCodes = [str(context.tierCode), str(context.previousTierCode)].filter((c): c is string => c !== undefined);
  const names = await repo.tierNames(db, program.id, tierCodes);
  const tierName = (name: unknown, code: unknown) => str(name) ?? (str(code) ? names.get(str(code)!) ?? str(code) : undefined);
  const token = unsubscribeToken(input.signingKey, program.id, member.id);
  return {
    name: member.first_name ?? strings.genericName,
    firstName: member.first_name ?? '',
    lastName: member.last_name ?? '',
    programName: program.name,
    balance: amount(wallet?.balance ?? 0),
    walletName: wallet?.name ?? '',
    points: points !== undefined && points !== 0 ? amount(points) : '',
    expiryDate: lastDay ? formatLocalDate(lastDay, locale) : '',
    daysLeft: lastDay ? formatNumber(Math.max(0, daysBetween(today, lastDay)), locale) : '',
    rewardName,
    rewardCost: rewardCost !== undefined ? formatNumber(rewardCost, locale) : '',
    pointsToNextReward: !ownReward && nextReward ? formatNumber(nextReward.missing, locale) : '',
    tierName: tierName(context.tierName, context.tierCode) ?? progress.tier?.name ?? '',
    previousTierName: tierName(context.previousTierName, context.previousTierCode) ?? '',
    nextTierName: nextTier?.name ?? '',
    nextTierGap,
    daysSinceLastPurchase: num(context.daysSinceLastPurchase) !== undefined ? formatNumber(num(context.daysSinceLastPurchase)!, locale) : '',
    orderId: str(context.orderId) ?? '',
    unsubscribeUrl: unsubscribeUrlFor(input.settings, input.publicUrl, token),
  };
}

/** Renders a message for a member: subject, text, and the HTML alternative with the unsubscribe link. */
export async function renderMessage(db: Executor, input: RenderInput, override?: TemplateText): Promise<Rendered> {
  if (!isMessageKind(input.kind)) throw new Error(`unknown message kind ${input.kind}`);
  const chosen = await templateFor(db, input.program.id, input.kind, input.member.locale, input.settings.messages.defaultLocale);
  const template = override ?? chosen.template;
  const locale = chosen.locale;
  const progress = await memberProgress(db, { programId: input.program.id, memberId: input.member.id, wallet: str(input.context.wallet) ?? 'points' });
  const variables = await messageVariables(db, input, locale, progress);
  const strings = LOCALE_STRINGS[locale] ?? LOCALE_STRINGS.en!;
  const body = renderText(template.body, variables);
  return {
    locale,
    subject: renderSubject(template.subject, variables),
    text: `${body}\n\n--\n${strings.unsubscribe}: ${variables.unsubscribeUrl}`,
    html: renderHtml(template.body, variables, { text: strings.unsubscribe, url: variables.unsubscribeUrl }),
    unsubscribeUrl: variables.unsubscribeUrl,
    variables,
  };
}

export async function signingKey(db: Db, programId: string): Promise<Buffer> {
  return repo.signingKeyOf(db, programId);
}
