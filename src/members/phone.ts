import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';
import { ProblemError } from '../http/error-codes.ts';

/**
 * Normalises a phone number to E.164. Numbers without a leading + are read in the program's
 * default country, if it has one. An impossible number is rejected, never stored.
 */
export function normalizePhone(input: string, defaultCountry?: string): string {
  try {
    const parsed = parsePhoneNumberWithError(input, defaultCountry ? { defaultCountry: defaultCountry as CountryCode } : undefined);
    if (!parsed.isValid()) throw new Error('not a valid number');
    return parsed.number;
  } catch (error) {
    throw new ProblemError('invalid_phone', `"${input}" is not a valid phone number${defaultCountry ? '' : ' (use the international format, e.g. +14155550123)'}: ${(error as Error).message}`, {
      field: 'phone',
    });
  }
}
