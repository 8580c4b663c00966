import { sql, type QueryCreator } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';
import { recordset } from '../db/recordset.ts';
import type { DB } from '../db/schema.ts';

export interface AwardValues {
  program_id: string; member_id: string; operation_id: string; component: string; order_id: string | null; action_id: string | null; breakdown: unknown; created_at: Date;
}

export async function insertAward(trx: Tx, values: AwardValues) {
  await insertAwards(trx, [values]);
}

export async function insertAwards(trx: Tx, rows: AwardValues[]) {
  if (rows.length > 0) await awardsInsert(trx, rows).execute();
}

/** The insert of awards, for a caller that sends it with another write (a CTE); returns a row per award. */
export function awardsInsert(db: QueryCreator<DB>, rows: AwardValues[]) {
  return db.insertInto('awards')
    .columns(['program_id', 'member_id', 'operation_id', 'component', 'order_id', 'action_id', 'breakdown', 'created_at'])
    .expression(recordset(rows, {
      program_id: 'uuid', member_id: 'uuid', operation_id: 'uuid', component: 'text', order_id: 'uuid', action_id: 'uuid', breakdown: 'jsonb', created_at: 'timestamptz',
    }))
    .returning('operation_id');
}

export interface ComponentOperation {
  operation_id: string;
  amount: number;
  reversed: number;
}

/** The earns of one award component, newest first (reversals take back the latest points first). */
export async function componentOperations(trx: Tx, memberId: string, component: string): Promise<ComponentOperation[]> {
  return trx
    .selectFrom('awards as a')
    .innerJoin('operations as o', 'o.id', 'a.operation_id')
    .select(['a.operation_id', 'o.amount', 'o.reversed'])
    .where('a.member_id', '=', memberId)
    .where('a.component', '=', component)
    .orderBy('a.id', 'desc')
    .execute();
}

/** What an order's view shows of each of its awards. */
export type AwardBrief = Pick<AwardRow, 'operation_id' | 'component' | 'wallet' | 'amount' | 'reversed' | 'vested' | 'vests_at' | 'created_at'>;

export interface AwardRow {
  id: number;
  operation_id: string;
  component: string;
  order_id: string | null;
  action_id: string | null;
  breakdown: unknown;
  created_at: Date;
  wallet: string;
  amount: number;
  reversed: number;
  vests_at: Date | null;
  vested: boolean | null;
  order_external_id: string | null;
  action_type: string | null;
}

/**
 * The operation, the lot, the order and the action are joined laterally, each looked up by its
 * index per award (`limit 1` keeps the planner from turning a lateral back into a join): as plain
 * joins the planner, misjudging how few awards an order has, hash-joined whole-table scans of
 * them into every order event (lots and actions first; operations and orders when a batch read
 * the awards of many orders, 5.7 ms a read at 26,000 operations).
 */
function awardQuery(db: Executor) {
  return db
    .selectFrom('awards as a')
    .innerJoinLateral((eb) => eb.selectFrom('operations').select(['operations.amount', 'operations.reversed', 'operations.wallet_id'])
      .whereRef('operations.id', '=', 'a.operation_id').limit(1).as('o'), (join) => join.onTrue())
    .innerJoin('wallets as w', 'w.id', 'o.wallet_id')
    .leftJoinLateral((eb) => eb.selectFrom('lots').select(['lots.vests_at', 'lots.vested']).whereRef('lots.operation_id', '=', 'a.operation_id').limit(1).as('l'), (join) => join.onTrue())
    .leftJoinLateral((eb) => eb.selectFrom('orders').select(['orders.external_id']).whereRef('orders.id', '=', 'a.order_id').limit(1).as('ord'), (join) => join.onTrue())
    .leftJoinLateral((eb) => eb.selectFrom('member_actions').select(['member_actions.type']).whereRef('member_actions.id', '=', 'a.action_id').limit(1).as('act'), (join) => join.onTrue())
    .select([
      'a.id', 'a.operation_id', 'a.component', 'a.order_id', 'a.action_id', 'a.breakdown', 'a.created_at',
      'w.code as wallet', 'o.amount', 'o.reversed', 'l.vests_at', 'l.vested', 'ord.external_id as order_external_id', 'act.type as action_type',
    ]);
}

export async function awardsOfOrder(db: Executor, orderId: string): Promise<AwardRow[]> {
  return (await awardsOf(db, 'order_id', [orderId])).get(orderId) ?? [];
}

export async function awardsOfAction(db: Executor, actionId: string): Promise<AwardRow[]> {
  return (await awardsOf(db, 'action_id', [actionId])).get(actionId) ?? [];
}

/** The awards of several orders or actions (a list page) in one statement, by id, each oldest first. */
export async function awardsOf(db: Executor, column: 'order_id' | 'action_id', ids: string[]): Promise<Map<string, AwardRow[]>> {
  const byId = new Map<string, AwardRow[]>();
  if (ids.length === 0) return byId;
  // = any(array): one prepared statement for any number of ids (an IN list is one per count).
  const rows = await awardQuery(db).where(sql<boolean>`${sql.ref(`a.${column}`)} = any(${ids}::uuid[])`).orderBy('a.id').execute() as AwardRow[];
  for (const row of rows) {
    const id = row[column]!;
    const list = byId.get(id) ?? [];
    list.push(row);
    byId.set(id, list);
  }
  return byId;
}

export async function awardsOfMember(db: Executor, memberId: string, filter: { beforeId?: number; limit: number }): Promise<AwardRow[]> {
  let q = awardQuery(db).where('a.member_id', '=', memberId);
  if (filter.beforeId !== undefined) q = q.where('a.id', '<', filter.beforeId);
  return q.orderBy('a.id', 'desc').limit(filter.limit).execute() as Promise<AwardRow[]>;
}

/** Reversals of a set of earns (the refunds that took their points back), oldest first. */
export async function reversalsOf(db: Executor, operationIds: string[]) {
  if (operationIds.length === 0) return [];
  return db
    .selectFrom('operations')
    .select(['id', 'target_operation_id', 'amount', 'metadata', 'description', 'created_at', sql<string>`reference_id`.as('reference_id')])
    .where('kind', '=', 'reverse')
    .where('target_operation_id', 'in', operationIds)
    .orderBy('created_at')
    .execute();
}
