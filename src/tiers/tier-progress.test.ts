import { describe, expect, it } from 'vitest';
import { deadlineDate, formatBasisPoints, formatMetric, formatMinor, gapsMet, gapsTo, keepMessage, multiplierText, reachMessage, windowPhrase } from './tier-progress.ts';

const usd = { currency: 'USD', exponent: 2 };

describe('tier progress wording', () => {
  it('formats minor units exactly, in the currency’s exponent', () => {
    expect(formatMinor(12_000, usd)).toBe('$120.00');
    expect(formatMinor(5, usd)).toBe('$0.05');
    expect(formatMinor(-35_000, usd)).toBe('-$350.00');
    expect(formatMinor(Number.MAX_SAFE_INTEGER, usd)).toBe('$90,071,992,547,409.91');
    expect(formatMinor(120_000, { currency: 'KRW', exponent: 0 })).toBe('₩120,000');
    expect(formatMinor(1_500, { currency: 'KWD', exponent: 3 })).toBe('KWD\u00a01.500');
  });

  it('names amounts in the metric’s units', () => {
    expect(formatMetric('net_spend', 12_000, usd)).toBe('$120.00');
    expect(formatMetric('points_earned', 1_200, usd)).toBe('1,200 points');
    expect(formatMetric('orders', 1, usd)).toBe('1 order');
    expect(windowPhrase('rolling_months', 12)).toBe('in the last 12 months');
  });

  it('says what is missing to reach a tier, for any and for all', () => {
    const gaps = gapsTo({ net_spend: 35_000, orders: 3 }, { net_spend: 23_000, points_earned: 0, orders: 1 }, usd);
    expect(gaps.map((g) => [g.metric, g.missing, g.formattedMissing])).toEqual([['net_spend', 12_000, '$120.00'], ['orders', 2, '2 orders']]);
    expect(reachMessage('VIB', gaps, 'any', 'this calendar year', usd)).toBe('Spend $120.00 more or place 2 more orders this calendar year to reach VIB.');
    expect(reachMessage('VIB', gaps, 'all', 'this calendar year', usd)).toBe('Spend $120.00 more and place 2 more orders this calendar year to reach VIB.');
    const half = gapsTo({ net_spend: 35_000, orders: 3 }, { net_spend: 40_000, points_earned: 0, orders: 1 }, usd);
    expect(gapsMet(half, 'any')).toBe(true);
    expect(gapsMet(half, 'all')).toBe(false);
    expect(reachMessage('VIB', half, 'all', 'this calendar year', usd)).toBe('Place 2 more orders this calendar year to reach VIB.');
  });

  it('treats a negative sum (refund before order) as zero progress', () => {
    const [gap] = gapsTo({ net_spend: 35_000 }, { net_spend: -5_000, points_earned: 0, orders: 0 }, usd);
    expect(gap!.missing).toBe(35_000);
  });

  it('dates the keep deadline on the local day before the review', () => {
    const reviewAt = new Date('2026-01-01T05:00:00Z');
    expect(deadlineDate(reviewAt, 'America/New_York')).toBe('31 December 2025');
    expect(deadlineDate(reviewAt, 'Asia/Seoul')).toBe('1 January 2026');
    const gaps = gapsTo({ net_spend: 35_000 }, { net_spend: 30_000, points_earned: 0, orders: 0 }, usd);
    expect(keepMessage('VIB', gaps, 'any', '31 December 2025', usd)).toBe('Spend $50.00 more by 31 December 2025 to keep VIB.');
  });

  it('words multipliers and discounts from basis points', () => {
    expect(multiplierText(20_000)).toBe('×2 points');
    expect(multiplierText(15_000)).toBe('+50 % points');
    expect(multiplierText(12_550)).toBe('+25.5 % points');
    expect(multiplierText(10_000)).toBe('no bonus');
    expect(formatBasisPoints(1_000)).toBe('10');
    expect(formatBasisPoints(1_255)).toBe('12.55');
  });
});
