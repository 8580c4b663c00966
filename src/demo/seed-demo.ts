import type { Db } from '../db/database.ts';
import { databaseNow } from '../db/database.ts';
import { earn } from '../ledger/ledger-operations.ts';
import { createMember } from '../members/member-operations.ts';
import { createProgram, createStore } from '../programs/program-operations.ts';
import { listPrograms } from '../programs/program-repository.ts';
import { inTransaction } from '../idempotency/run-idempotent.ts';

/** On the very first start, a demo shop to explore: two stores, two wallets, a few members with points. */
export async function seedDemoIfEmpty(db: Db): Promise<{ programId: string; apiKey: string } | undefined> {
  if ((await listPrograms(db)).length > 0) return undefined;
  const { program, apiKey } = await createProgram(db, {
    name: 'Demo Shop',
    currency: 'USD',
    timeZone: 'America/New_York',
    keyName: 'demo admin',
    settings: { defaultCountry: 'US' },
    wallets: [
      { code: 'points', name: 'Points', expiry: { kind: 'end_of_month', count: 12 }, pendingDays: 0 },
      { code: 'cashback', name: 'Cashback', unit: 'currency', expiry: { kind: 'days_after_earn', count: 90 } },
    ],
  });
  await createStore(db, program.id, 'system', { code: 'web', name: 'Demo web shop', kind: 'online' });
  await createStore(db, program.id, 'system', { code: 'downtown', name: 'Downtown store', kind: 'pos' });
  const people = [
    { customerId: 'demo-1001', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', phone: '+12025550101', points: 1250 },
    { customerId: 'demo-1002', email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', phone: '+12025550102', points: 340 },
    { customerId: 'demo-1003', email: 'min-jun@example.com', firstName: 'Min-jun', lastName: 'Kim', locale: 'ko', points: 80 },
  ];
  for (const person of people) {
    const { points, ...profile } = person;
    const member = await createMember(db, program, 'system', { ...profile, marketingConsent: true, enrollmentSource: 'demo' });
    await inTransaction(db, async (trx) => {
      const ctx = { trx, program, now: await databaseNow(trx), actor: 'system' };
      await earn(ctx, { memberId: member.id, wallet: 'points', amount: points, pendingUntil: null, reference: { type: 'demo', id: 'welcome' }, description: 'Demo welcome points' });
    });
  }
  return { programId: program.id, apiKey };
}
