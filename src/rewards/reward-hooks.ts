import { registerOutboxHook } from '../jobs/job-registry.ts';
import { issueThresholdNotes } from './threshold-notes.ts';
import { openLedgerContext } from '../ledger/ledger-context.ts';

/**
 * Automatic gift notes right after the points arrive: when the outbox dispatches an event that
 * may have raised a balance, the member's thresholds are checked in the same transaction. The
 * scheduled sweep (rewards_maintenance) catches whatever no event announces (vesting).
 * Imported for its effect by the worker.
 */
export const unregisterThresholdNotesHook = registerOutboxHook({
  name: 'reward_threshold_notes',
  eventTypes: ['points.earned', 'points.adjusted', 'points.restored', 'points.transferred', 'reservation.voided', 'reservation.expired'],
  async handle(trx, event) {
    const memberId = event.type === 'points.transferred' ? (event.payload.toMemberId as string | undefined) : event.member_id;
    if (!memberId) return;
    await issueThresholdNotes(await openLedgerContext(trx, event.program_id, 'system'), memberId);
  },
});
