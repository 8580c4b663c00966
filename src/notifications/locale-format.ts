/**
 * Choosing a member's message locale and formatting numbers, money and dates in it. Dates of
 * the program calendar (YYYY-MM-DD in the program time zone) are formatted as calendar dates, so
 * the server's zone can never move them by a day.
 */

function canonical(tag: string): string | undefined {
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/**
 * The best of `available` for a member's locale: the exact tag, then language + script
 * (zh-TW and zh-HK → zh-Hant), then the language alone (ko-KR → ko), then the fallbacks.
 */
export function resolveLocale(wanted: string | null | undefined, available: readonly string[], fallbacks: readonly string[] = ['en']): string {
  const byLower = new Map(available.map((a) => [a.toLowerCase(), a]));
  const pick = (tag: string | undefined) => (tag ? byLower.get(tag.toLowerCase()) : undefined);
  const tag = wanted ? canonical(wanted) : undefined;
  if (tag) {
    const exact = pick(tag);
    if (exact) return exact;
    const locale = new Intl.Locale(tag);
    const max = locale.maximize();
    const candidates = [
      max.script ? `${max.language}-${max.script}` : undefined,
      locale.region ? `${locale.language}-${locale.region}` : undefined,
      // Plain "zh" maximizes to Simplified: never answer Traditional for it, nor the reverse.
      max.language === 'zh' ? undefined : max.language,
    ];
    for (const candidate of candidates) {
      const hit = pick(candidate);
      if (hit) return hit;
    }
  }
  for (const fallback of fallbacks) {
    const hit = pick(canonical(fallback));
    if (hit) return hit;
  }
  return available[0] ?? 'en';
}

export function formatNumber(value: number, locale: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(value);
}

/** Minor units as money, exactly: the decimal string is built from the integer, never divided. */
export function formatMoney(minor: number, currency: string, exponent: number, locale: string): string {
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const decimal = exponent > 0 ? `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}` : digits;
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent });
  return format.format(`${negative ? '-' : ''}${decimal}` as unknown as number);
}

/** A program calendar date ("2025-03-31") in the locale's long style. */
export function formatLocalDate(date: string, locale: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** The calendar date of an instant in a time zone, as YYYY-MM-DD. */
export function localDateOf(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Whole days from one calendar date to another (may be negative). */
export function daysBetween(from: string, to: string): number {
  const toUtc = (d: string) => {
    const [y, m, day] = d.split('-').map(Number) as [number, number, number];
    return Date.UTC(y, m - 1, day);
  };
  return Math.round((toUtc(to) - toUtc(from)) / 86_400_000);
}

export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
