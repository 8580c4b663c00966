import { describe, expect, it } from 'vitest';
import { ProblemError } from '../http/error-codes.ts';
import { normalizeRuleConfig } from './rule-config.ts';

function problems(kind: Parameters<typeof normalizeRuleConfig>[0], config: unknown): { path: string; message: string }[] {
  try {
    normalizeRuleConfig(kind, config);
  } catch (error) {
    expect(error).toBeInstanceOf(ProblemError);
    expect((error as ProblemError).code).toBe('invalid_rule');
    return (error as ProblemError).extra.errors as { path: string; message: string }[];
  }
  return [];
}

describe('normalizeRuleConfig', () => {
  it('accepts each kind and fills defaults', () => {
    expect(normalizeRuleConfig('base_rate', { points: 1, perAmountMinor: 100 })).toEqual({ points: 1, perAmountMinor: 100, wallet: 'points' });
    expect(normalizeRuleConfig('cashback', { rateBasisPoints: 300 }).wallet).toBe('cashback');
    expect(normalizeRuleConfig('threshold', { everyAmountMinor: 5000, points: 100 }).period).toBe('lifetime');
    expect(normalizeRuleConfig('challenge', { target: 3, period: 'week', points: 50, counts: { type: 'orders' } }).repeat).toBe(false);
    expect(normalizeRuleConfig('action', { action: 'review', points: 50, limits: [{ count: 1, period: 'day' }] }).action).toBe('review');
  });

  it('lists every missing or out-of-range field with its path', () => {
    expect(problems('base_rate', {})).toEqual([
      { path: '/config/points', message: 'is required' },
      { path: '/config/perAmountMinor', message: 'is required' },
    ]);
    expect(problems('multiplier', { percent: 100 })).toEqual([{ path: '/config/percent', message: 'must be an integer from 101 to 10000' }]);
    expect(problems('cashback', { rateBasisPoints: 20_000 })[0]!.path).toBe('/config/rateBasisPoints');
  });

  it('refuses fields that do not belong to the kind', () => {
    expect(problems('multiplier', { percent: 200, points: 5 })).toEqual([{ path: '/config/points', message: 'is not a known field here' }]);
    expect(problems('action', { action: 'review', points: 5, conditions: { channels: ['pos'] } })).toEqual([
      { path: '/config/conditions/channels', message: 'is about orders; an action rule cannot use it' },
    ]);
  });

  it('refuses configurations that could never apply', () => {
    expect(problems('extra_points', { points: 5, per: 'order', conditions: { dates: [{ from: '2025-03-14', to: '2025-03-14' }], weekdays: [6, 7] } })).toEqual([
      { path: '/config/conditions/weekdays', message: 'none of these weekdays falls within the dates: the rule could never apply' },
    ]);
    expect(problems('multiplier', { percent: 200, lines: { tags: ['club'] }, exclude: { tags: ['club', 'x'] } })[0]!.message).toMatch(/could never apply/);
    expect(problems('extra_points', { points: 5, per: 'order', conditions: { hours: { from: '10:00', to: '10:00' } } })[0]!.message).toMatch(/window is empty/);
    expect(problems('extra_points', { points: 5, per: 'order', conditions: { dates: [{ from: '2025-03-15', to: '2025-03-14' }] } })[0]!.message).toMatch(/ends .* before it starts/);
    expect(problems('extra_points', { points: 5, per: 'order', conditions: { dates: [{ from: '2025-02-30', to: '2025-03-01' }] } })[0]!.message).toMatch(/real dates/);
  });

  it('checks kind-specific combinations', () => {
    expect(problems('extra_points', { points: 5, per: 'amount' })).toEqual([{ path: '/config/perAmountMinor', message: 'is required' }]);
    expect(problems('extra_points', { points: 5, per: 'order', perAmountMinor: 100 })[0]!.path).toBe('/config/perAmountMinor');
    expect(problems('extra_points', { points: 5, per: 'unit' })[0]!.message).toMatch(/need the products/);
    expect(problems('challenge', { target: 3, period: 'week', points: 5, counts: { type: 'action' } })[0]!.path).toBe('/config/counts/action');
    expect(problems('challenge', { target: 3, period: 'week', points: 5 })[0]!.path).toBe('/config/counts');
    expect(problems('action', { action: 'review' })[0]!.message).toMatch(/needs points/);
    expect(problems('action', { action: 'Review!', points: 1 })[0]!.path).toBe('/config/action');
    expect(problems('action', { action: 'review', points: 1, limits: [{ count: 1, period: 'day' }, { count: 2, period: 'day' }] })[0]!.message).toMatch(/period twice/);
    expect(problems('action', { action: 'review', points: 1, caps: { perOrder: 5 } })[0]!.message).toMatch(/no order/);
    expect(problems('base_rate', { points: 1, perAmountMinor: 100, caps: {} })[0]!.message).toMatch(/perOrder or perMember/);
    expect(problems('base_rate', { points: 1, perAmountMinor: 100, conditions: { orderNumber: { equals: 1, every: 2 } } })[0]!.message).toMatch(/not both/);
  });
});
