import type { Insertable, Updateable } from 'kysely';
import type { Executor, Tx } from '../db/database.ts';
import type { PointsPaymentSettingsTable, PointsPaymentsTable } from '../db/schema.ts';

function settingsQuery(db: Executor) {
  return db.selectFrom('points_payment_settings').innerJoin('wallets', 'wallets.id', 'points_payment_settings.wallet_id').selectAll('points_payment_settings').select('wallets.code as wallet_code');
}

export type SettingsRow = NonNullable<Awaited<ReturnType<typeof findSettings>>>;

export async function findSettings(db: Executor, programId: string, walletId: string) {
  return settingsQuery(db).where('points_payment_settings.program_id', '=', programId).where('points_payment_settings.wallet_id', '=', walletId).executeTakeFirst();
}

export async function listSettings(db: Executor, programId: string) {
  return settingsQuery(db).where('points_payment_settings.program_id', '=', programId).orderBy('wallets.code').execute();
}

export async function upsertSettings(trx: Tx, values: Insertable<PointsPaymentSettingsTable>) {
  const { program_id: _p, wallet_id: _w, ...update } = values;
  await trx
    .insertInto('points_payment_settings')
    .values(values)
    .onConflict((oc) => oc.columns(['program_id', 'wallet_id']).doUpdateSet(update))
    .execute();
}

function paymentQuery(db: Executor) {
  return db
    .selectFrom('points_payments')
    .innerJoin('reservations', 'reservations.id', 'points_payments.reservation_id')
    .innerJoin('wallets', 'wallets.id', 'points_payments.wallet_id')
    .selectAll('points_payments')
    .select([
      'reservations.status as reservation_status', 'reservations.expires_at as reservation_expires_at',
      'reservations.posted_amount as reservation_posted_amount', 'reservations.post_operation_id as reservation_post_operation_id',
      'wallets.code as wallet_code',
    ]);
}

export type PaymentRow = NonNullable<Awaited<ReturnType<typeof findPayment>>>;

export async function findPayment(db: Executor, programId: string, id: string) {
  return paymentQuery(db).where('points_payments.program_id', '=', programId).where('points_payments.id', '=', id).executeTakeFirst();
}

export async function lockPayment(trx: Tx, programId: string, id: string) {
  return paymentQuery(trx).where('points_payments.program_id', '=', programId).where('points_payments.id', '=', id).forUpdate('points_payments').executeTakeFirst();
}

/** The order's live payment (reserved or captured), locked. */
export async function lockLivePaymentOfOrder(trx: Tx, programId: string, orderId: string) {
  return paymentQuery(trx)
    .where('points_payments.program_id', '=', programId)
    .where('points_payments.order_id', '=', orderId)
    .where('points_payments.status', 'in', ['reserved', 'captured'])
    .forUpdate('points_payments')
    .executeTakeFirst();
}

export async function listPaymentsOfOrder(db: Executor, programId: string, orderId: string) {
  return paymentQuery(db).where('points_payments.program_id', '=', programId).where('points_payments.order_id', '=', orderId).orderBy('points_payments.created_at').execute();
}

export async function insertPayment(trx: Tx, values: Insertable<PointsPaymentsTable>) {
  return trx.insertInto('points_payments').values(values).returning('id').executeTakeFirstOrThrow();
}

export async function updatePayment(trx: Tx, id: string, values: Updateable<PointsPaymentsTable>) {
  await trx.updateTable('points_payments').set(values).where('id', '=', id).execute();
}

/** How much of a posted reservation has been given back so far, by any path (this API or order refunds). */
export async function restoredOfOperation(db: Executor, operationId: string): Promise<number> {
  const row = await db.selectFrom('operations').select('restored').where('id', '=', operationId).executeTakeFirstOrThrow();
  return row.restored;
}
