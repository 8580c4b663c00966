import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MESSAGE_KINDS, type MessageKind } from './message-kinds.ts';

/**
 * Per-program configuration of the scheduled lifecycle jobs and of the messages. Stored as one
 * JSON document; PATCH merges objects key by key (arrays are replaced).
 */
const LocalTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM in the program time zone' });
const Days = Type.Array(Type.Integer({ minimum: 1, maximum: 365 }), { maxItems: 10, description: 'Remind N days before the points’ last day (several: several reminders)' });

const Smtp = Type.Object({
  host: Type.String({ minLength: 1, maxLength: 255 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  secure: Type.Boolean({ description: 'TLS from the start (port 465); false uses STARTTLS when offered' }),
  user: Type.Union([Type.String({ maxLength: 255 }), Type.Null()]),
  password: Type.Union([Type.String({ maxLength: 500 }), Type.Null()], { description: 'Write-only: reads show "********"' }),
}, { additionalProperties: false });

export const LifecycleSettingsSchema = Type.Object({
  dailyJobsAt: LocalTime,
  expiringReminders: Type.Object({
    enabled: Type.Boolean(),
    daysBefore: Days,
    minPoints: Type.Integer({ minimum: 1, description: 'No reminder for fewer points than this' }),
    wallets: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), Type.Object({ enabled: Type.Optional(Type.Boolean()), daysBefore: Type.Optional(Days) }, { additionalProperties: false }), {
      description: 'Per-wallet overrides, by wallet code',
    }),
  }, { additionalProperties: false }),
  birthday: Type.Object({
    enabled: Type.Boolean(),
    points: Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'Birthday gift in points (0: message only)' }),
    wallet: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }),
  }, { additionalProperties: false }),
  atRisk: Type.Object({
    enabled: Type.Boolean(),
    multiplier: Type.Number({ minimum: 1, maximum: 100, description: 'k: at risk after k × the member’s usual interval between purchases' }),
    minPurchases: Type.Integer({ minimum: 2, maximum: 1000, description: 'Purchases needed before the usual interval is trusted' }),
    minDays: Type.Integer({ minimum: 1, maximum: 3650, description: 'Never at risk sooner than this many days' }),
    fixedDays: Type.Integer({ minimum: 1, maximum: 3650, description: 'With fewer purchases: at risk after this many days' }),
    maxDays: Type.Integer({ minimum: 1, maximum: 36500, description: 'Lapsed longer than this: churned, no longer reported as at risk' }),
  }, { additionalProperties: false }),
  messages: Type.Object({
    channels: Type.Array(Type.Union([Type.Literal('email'), Type.Literal('webhook')]), { maxItems: 2, uniqueItems: true, description: 'email: SMTP; webhook: a message.created event for the shop’s e-mail/SMS tool. Empty: no messages' }),
    kinds: Type.Record(Type.String(), Type.Boolean(), { description: 'Kind → enabled' }),
    defaultLocale: Type.String({ minLength: 2, maxLength: 35 }),
    pointsToNextThreshold: Type.Integer({ minimum: 1, description: 'points_to_next fires when the gap is at most this' }),
    unsubscribeUrl: Type.Union([Type.String({ pattern: '\\{token\\}', maxLength: 1000 }), Type.Null()], { description: 'Own unsubscribe page, containing {token}; default: Laurel’s /unsubscribe/{token}' }),
    email: Type.Object({
      from: Type.Union([Type.String({ minLength: 3, maxLength: 320 }), Type.Null()], { description: 'e.g. "Shop <loyalty@shop.example>"' }),
      replyTo: Type.Union([Type.String({ minLength: 3, maxLength: 320 }), Type.Null()]),
      smtp: Type.Union([Smtp, Type.Null()], { description: 'null: the server of LAUREL_SMTP_URL' }),
    }, { additionalProperties: false }),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export type LifecycleSettings = Static<typeof LifecycleSettingsSchema>;

export function defaultLifecycleSettings(): LifecycleSettings {
  return {
    dailyJobsAt: '09:00',
    expiringReminders: { enabled: true, daysBefore: [30, 7], minPoints: 1, wallets: {} },
    birthday: { enabled: true, points: 0, wallet: 'points' },
    atRisk: { enabled: true, multiplier: 3, minPurchases: 3, minDays: 14, fixedDays: 90, maxDays: 365 },
    messages: {
      channels: [],
      kinds: Object.fromEntries(MESSAGE_KINDS.map((k) => [k, true])),
      defaultLocale: 'en',
      pointsToNextThreshold: 100,
      unsubscribeUrl: null,
      email: { from: null, replyTo: null, smtp: null },
    },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays, scalars and null replace. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isObject(base) || !isObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = key in base ? deepMerge(base[key], value) : value;
  return out;
}

/** The stored document completed with today's defaults (settings added later get their default). */
export function effectiveSettings(stored: Record<string, unknown> | undefined): LifecycleSettings {
  const merged = deepMerge(defaultLifecycleSettings(), stored ?? {});
  return Value.Check(LifecycleSettingsSchema, merged) ? merged : defaultLifecycleSettings();
}

export const PASSWORD_MASK = '********';

export function maskSecrets(settings: LifecycleSettings): LifecycleSettings {
  const smtp = settings.messages.email.smtp;
  if (!smtp?.password) return settings;
  return { ...settings, messages: { ...settings.messages, email: { ...settings.messages.email, smtp: { ...smtp, password: PASSWORD_MASK } } } };
}

export function kindEnabled(settings: LifecycleSettings, kind: MessageKind): boolean {
  return settings.messages.kinds[kind] !== false;
}

export function reminderDaysFor(settings: LifecycleSettings, walletCode: string): number[] {
  const override = settings.expiringReminders.wallets[walletCode];
  if (override?.enabled === false) return [];
  return [...new Set(override?.daysBefore ?? settings.expiringReminders.daysBefore)].sort((a, b) => a - b);
}

/** Minutes after local midnight at which the daily jobs run. */
export function dailyMinute(settings: LifecycleSettings): number {
  const [h, m] = settings.dailyJobsAt.split(':').map(Number) as [number, number];
  return h * 60 + m;
}
