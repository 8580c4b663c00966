import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database.ts';
import type { HttpClient } from '../../bench/lib/http-client.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ORDERS = existsSync(path.join(ROOT, 'src/orders/order-routes.ts'));
export const REWARDS = existsSync(path.join(ROOT, 'src/rewards/reward-routes.ts'));

async function ok(client: HttpClient, method: string, p: string, body?: unknown) {
  const res = await client.request({ method, path: p, body, headers: { 'idempotency-key': randomUUID() }, timeoutMs: 30_000 });
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${res.text}`);
  return res.json();
}

/** Members with points, a 1-point-per-$1 rule (orders) and a 50-point reward (redemptions), where those modules exist. */
export async function seedWorld(client: HttpClient, options: { members: number; startingPoints: number }) {
  const members: string[] = [];
  const seedOperations: string[] = [];
  for (let i = 0; i < options.members; i++) {
    const m = await ok(client, 'POST', '/v1/members', { customerId: `chaos-${randomUUID()}` });
    const earned = await ok(client, 'POST', `/v1/members/${m.id}/earn`, { amount: options.startingPoints, pendingUntil: null });
    members.push(m.id);
    seedOperations.push(earned.operation.id);
  }
  if (ORDERS) await ok(client, 'POST', '/v1/rules', { kind: 'base_rate', name: 'Chaos: 1 point per $1', config: { points: 1, perAmountMinor: 100 } });
  const reward = REWARDS ? await ok(client, 'POST', '/v1/rewards', { kind: 'free_shipping', name: 'Chaos reward', costPoints: 50 }) : undefined;
  return { members, rewardId: reward?.id as string | undefined, orders: ORDERS, seedOperations };
}

/** Rows a program owns in the ledger tables: unchanged counts mean nothing was written. */
export async function tableCounts(db: Db, programId: string) {
  const { rows } = await sql<Record<string, number>>`
    select (select count(*) from members where program_id = ${programId})::int as members,
           (select count(*) from operations where program_id = ${programId})::int as operations,
           (select count(*) from entries where program_id = ${programId})::int as entries,
           (select count(*) from lots where program_id = ${programId})::int as lots,
           (select count(*) from reservations where program_id = ${programId})::int as reservations`.execute(db);
  return rows[0]!;
}
