import { ProblemError } from '../http/error-codes.ts';

// ISO 4217 minor units that differ from the usual 2.
const EXPONENT_EXCEPTIONS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0,
  UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

const KNOWN = new Set<string>(Intl.supportedValuesOf('currency'));

/** The minor-unit exponent of an ISO 4217 currency (USD → 2, JPY → 0, KWD → 3). */
export function currencyExponent(currency: string): number {
  if (!/^[A-Z]{3}$/.test(currency) || !KNOWN.has(currency)) {
    throw new ProblemError('invalid_currency', `"${currency}" is not an ISO 4217 currency code`);
  }
  return EXPONENT_EXCEPTIONS[currency] ?? 2;
}

export function assertTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new ProblemError('invalid_time_zone', `"${timeZone}" is not an IANA time zone (e.g. "Europe/Paris")`);
  }
}
