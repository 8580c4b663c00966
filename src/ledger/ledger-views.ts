import type { LotRow } from './ledger-repository.ts';

type OperationRow = {
  id: string; kind: string; wallet_id: string; member_id: string; amount: number; reversed: number; restored: number;
  target_operation_id: string | null; reservation_id: string | null; counterpart_member_id: string | null;
  reference_type: string | null; reference_id: string | null; description: string | null; reason: string | null;
  actor: string; metadata: Record<string, unknown>; created_at: Date;
};

export function operationView(op: OperationRow, walletCode: string) {
  return {
    id: op.id,
    kind: op.kind,
    wallet: walletCode,
    memberId: op.member_id,
    amount: op.amount,
    reversed: op.reversed,
    restored: op.restored,
    targetOperationId: op.target_operation_id,
    reservationId: op.reservation_id,
    counterpartMemberId: op.counterpart_member_id,
    reference: op.reference_type && op.reference_id ? { type: op.reference_type, id: op.reference_id } : null,
    description: op.description,
    reason: op.reason,
    actor: op.actor,
    metadata: op.metadata,
    createdAt: op.created_at.toISOString(),
  };
}

export function lotView(lot: LotRow) {
  return {
    id: String(lot.id),
    operationId: lot.operation_id,
    amount: lot.amount,
    remaining: lot.remaining,
    vested: lot.vested,
    vestsAt: lot.vests_at?.toISOString() ?? null,
    expiresAt: lot.expires_at?.toISOString() ?? null,
    createdAt: lot.created_at.toISOString(),
  };
}

export function reservationView(
  r: { id: string; member_id: string; amount: number; posted_amount: number; status: string; expires_at: Date; resolved_at: Date | null; operation_id: string; post_operation_id: string | null; reference_type: string | null; reference_id: string | null; created_at: Date },
  walletCode: string,
) {
  return {
    id: r.id,
    memberId: r.member_id,
    wallet: walletCode,
    amount: r.amount,
    postedAmount: r.posted_amount,
    status: r.status,
    expiresAt: r.expires_at.toISOString(),
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    operationId: r.operation_id,
    postOperationId: r.post_operation_id,
    reference: r.reference_type && r.reference_id ? { type: r.reference_type, id: r.reference_id } : null,
    createdAt: r.created_at.toISOString(),
  };
}
