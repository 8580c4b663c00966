import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, formatLocalDate, formatMoney, formatNumber, localDateOf, resolveLocale } from './locale-format.ts';

const shipped = ['en', 'ko', 'ja', 'zh-Hant', 'th'];

describe('locale resolution', () => {
  it('maps a member locale to the best available template locale', () => {
    expect(resolveLocale('ko', shipped)).toBe('ko');
    expect(resolveLocale('ko-KR', shipped)).toBe('ko');
    expect(resolveLocale('ja-JP', shipped)).toBe('ja');
    expect(resolveLocale('zh-TW', shipped)).toBe('zh-Hant');
    expect(resolveLocale('zh-HK', shipped)).toBe('zh-Hant');
    expect(resolveLocale('zh-hant', shipped)).toBe('zh-Hant');
    expect(resolveLocale('th-TH', shipped)).toBe('th');
    expect(resolveLocale('en-GB', shipped)).toBe('en');
  });

  it('never answers Traditional Chinese for Simplified, and falls back to the program default', () => {
    expect(resolveLocale('zh-CN', shipped)).toBe('en');
    expect(resolveLocale('zh', shipped, ['ja'])).toBe('ja');
    expect(resolveLocale('de-DE', shipped, ['ko', 'en'])).toBe('ko');
    expect(resolveLocale(null, shipped, ['th'])).toBe('th');
    expect(resolveLocale('not a locale!', shipped)).toBe('en');
    expect(resolveLocale('de-AT', [...shipped, 'de'])).toBe('de');
  });
});

describe('formatting', () => {
  it('formats numbers and exact money per locale', () => {
    expect(formatNumber(1234567, 'en')).toBe('1,234,567');
    expect(formatNumber(1234567, 'de')).toBe('1.234.567');
    expect(formatMoney(123456, 'USD', 2, 'en')).toBe('$1,234.56');
    expect(formatMoney(5, 'USD', 2, 'en')).toBe('$0.05');
    expect(formatMoney(1500, 'KRW', 0, 'ko')).toBe('₩1,500');
    expect(formatMoney(9_007_199_254_740_991, 'USD', 2, 'en')).toBe('$90,071,992,547,409.91');
  });

  it('formats calendar dates in each shipped locale without shifting the day', () => {
    expect(formatLocalDate('2025-03-31', 'en')).toBe('March 31, 2025');
    expect(formatLocalDate('2025-03-31', 'ko')).toBe('2025년 3월 31일');
    expect(formatLocalDate('2025-03-31', 'ja')).toBe('2025年3月31日');
    expect(formatLocalDate('2025-03-31', 'zh-Hant')).toBe('2025年3月31日');
    // Thai uses the Buddhist era: 2025 CE is 2568 BE.
    expect(formatLocalDate('2025-03-31', 'th')).toBe('31 มีนาคม 2568');
  });

  it('computes program-calendar dates', () => {
    const instant = new Date('2025-03-31T20:30:00Z');
    expect(localDateOf(instant, 'Asia/Seoul')).toBe('2025-04-01');
    expect(localDateOf(instant, 'America/New_York')).toBe('2025-03-31');
    expect(daysBetween('2025-02-27', '2025-03-01')).toBe(2);
    expect(daysBetween('2024-02-27', '2024-03-01')).toBe(3);
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
  });
});
