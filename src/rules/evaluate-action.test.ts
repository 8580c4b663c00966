import { describe, expect, it } from 'vitest';
import { byPriority, compileRule } from './compile-rule.ts';
import { evaluateAction, type ActionContext } from './evaluate-action.ts';
import { normalizeRuleConfig, type RuleConfig, type RuleKind } from './rule-config.ts';

const rule = (id: string, kind: RuleKind, config: RuleConfig, priority = 100) => compileRule({
  ruleId: `00000000-0000-4000-8000-00000000000${id}`, version: 1, kind, name: `rule ${id}`, priority, stopFurther: false,
  effectiveFrom: new Date('2020-01-01T00:00:00Z'), config: normalizeRuleConfig(kind, config),
});

const ctx = (extra: Partial<ActionContext> = {}): ActionContext => ({
  member: { tierCode: null, tags: [], attributes: {}, birthday: '1990-03-02', locale: 'en' }, timeZone: 'UTC',
  currency: { code: 'USD', exponent: 2 }, wallets: { points: { pendingDays: 0 } }, capUsage: {}, limitUsage: {}, ...extra,
});

const action = { type: 'review', quantity: 1, occurredAt: new Date('2025-03-14T10:00:00Z') };

describe('evaluateAction', () => {
  const review = rule('1', 'action', { action: 'review', points: 50, limits: [{ count: 1, period: 'day' }, { count: 3, period: 'month' }] });

  it('gives points per event within frequency limits', () => {
    expect(evaluateAction(action, ctx(), [review]).items[0]).toMatchObject({ points: 50, why: '50 per review' });
    const limited = evaluateAction(action, ctx({ limitUsage: { [review.ruleId]: { day: 0, month: 3 } } }), [review]);
    expect(limited.items).toEqual([]);
    expect(limited.notApplied[0]!.reason).toBe('limit of 3 per month reached');
  });

  it('gives points per unit for partner activity, rounding down, within caps', () => {
    const walk = rule('2', 'action', { action: 'walk', perUnit: { points: 1, quantity: 1000 }, caps: { perMember: { points: 100, period: 'week' } } });
    const r = evaluateAction({ ...action, type: 'walk', quantity: 5_999 }, ctx(), [walk]);
    expect(r.items[0]!.points).toBe(5);
    const capped = evaluateAction({ ...action, type: 'walk', quantity: 50_000 }, ctx({ capUsage: { [walk.ruleId]: 80 } }), [walk]);
    expect(capped.items[0]!.points).toBe(20);
    expect(capped.items[0]!.why).toMatch(/capped at 20/);
  });

  it('ignores rules for other actions and counts challenges of this action', () => {
    const other = rule('3', 'action', { action: 'survey', points: 10 });
    const challenge = rule('4', 'challenge', { target: 2, period: 'month', points: 100, counts: { type: 'action', action: 'review' } }, 600);
    const r = evaluateAction(action, ctx(), [review, other, challenge].sort(byPriority));
    expect(r.items.map((i) => i.ruleId)).toEqual([review.ruleId]);
    expect(r.contributions).toEqual([{ ruleId: challenge.ruleId, version: 1, name: 'rule 4', periodKey: 'month:2025-03' }]);
  });

  it('applies member conditions (birthday month)', () => {
    const birthday = rule('5', 'action', { action: 'birthday', points: 200, conditions: { birthdayMonth: true }, limits: [{ count: 1, period: 'year' }] });
    expect(evaluateAction({ ...action, type: 'birthday' }, ctx(), [birthday]).items[0]!.points).toBe(200);
    expect(evaluateAction({ ...action, type: 'birthday', occurredAt: new Date('2025-05-01T00:00:00Z') }, ctx(), [birthday]).items).toEqual([]);
  });
});
