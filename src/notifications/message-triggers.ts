import type { Tx } from '../db/database.ts';
import type { EventRow } from '../events/event-repository.ts';
import { effectiveSettings, kindEnabled, type LifecycleSettings } from './lifecycle-settings.ts';
import { underSavepoint } from '../events/event-repository.ts';
import { hasProgressProviders, memberProgress, type MemberProgress } from './member-progress.ts';
import { KIND_INFO, MESSAGE_KINDS, type MessageKind } from './message-kinds.ts';
import * as repo from './message-repository.ts';

interface Candidate {
  kind: MessageKind;
  /** Identifies the message independently of retries: the same key is never sent twice. */
  key: string;
  context: Record<string, unknown>;
}

const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** What the event data tells each kind of message. */
function contextOf(kind: MessageKind, data: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case 'points_earned':
      return { wallet: data.wallet, points: data.amount };
    case 'points_expiring':
      return { wallet: data.wallet, points: data.amount, lastDay: data.lastDay, daysLeft: data.daysLeft };
    case 'reward_affordable':
      return { wallet: data.wallet, rewardId: data.rewardId, rewardName: data.rewardName, rewardCost: data.cost };
    case 'tier_up':
      // The tiers module sends tier codes; names are looked up when the message is rendered.
      return {
        tierCode: typeof data.to === 'string' ? data.to : obj(data.to).code, tierName: obj(data.to).name,
        previousTierCode: typeof data.from === 'string' ? data.from : obj(data.from).code, previousTierName: obj(data.from).name,
      };
    case 'birthday':
      return { wallet: obj(data.reward).wallet, points: obj(data.reward).amount };
    case 'at_risk':
      return { daysSinceLastPurchase: data.daysSinceLastPurchase };
    case 'post_purchase':
      // The shop's own order number, not Laurel's id.
      return { orderId: data.externalId ?? obj(data.order).externalId ?? data.orderId, points: data.points, wallet: data.wallet };
    default:
      return {};
  }
}

async function candidatesFor(trx: Tx, event: EventRow, settings: LifecycleSettings, onError: (e: unknown) => void): Promise<Candidate[]> {
  const memberId = event.member_id;
  if (!memberId) return [];
  const data = event.payload;
  const out: Candidate[] = [];
  for (const kind of MESSAGE_KINDS) {
    if (KIND_INFO[kind].trigger !== event.type || !kindEnabled(settings, kind) || kind === 'points_to_next') continue;
    if (kind === 'tier_up' && data.direction !== 'up') continue;
    // Welcome is once per member, whatever enrolled them; the others once per triggering event.
    const key = kind === 'welcome' ? `welcome:${memberId}` : `${kind}:${event.id}`;
    out.push({ kind, key, context: contextOf(kind, data) });
  }
  if (event.type === 'points.earned' && kindEnabled(settings, 'points_to_next') && hasProgressProviders()) {
    // Under a savepoint: a provider whose SQL fails must not abort the whole dispatch transaction.
    let progress: MemberProgress = {};
    const error = await underSavepoint(trx, async () => {
      progress = await memberProgress(trx, { programId: event.program_id, memberId, wallet: String(data.wallet ?? 'points') }, (_n, e) => {
        throw e;
      });
    });
    if (error) onError(error);
    const threshold = settings.messages.pointsToNextThreshold;
    // Once per target and calendar year: reaching for Gold again next year deserves a new nudge.
    const year = event.created_at.toISOString().slice(0, 4);
    const tier = progress.nextTier;
    const reward = progress.nextReward;
    if (tier && tier.unit === 'points' && tier.gap > 0 && tier.gap <= threshold) {
      out.push({ kind: 'points_to_next', key: `points_to_next:tier:${tier.id}:${memberId}:${year}`, context: { wallet: data.wallet, target: 'tier', nextTier: tier } });
    } else if (reward && reward.missing > 0 && reward.missing <= threshold) {
      out.push({ kind: 'points_to_next', key: `points_to_next:reward:${reward.id}:${memberId}:${year}`, context: { wallet: data.wallet, target: 'reward', nextReward: reward } });
    }
  }
  return out;
}

/**
 * Decides, in the outbox dispatch transaction, which messages a batch of events calls for, and
 * records them once per dedupe key and channel. Consent and unsubscribes are checked when the
 * message is sent, so that a member who unsubscribes in between is respected.
 */
export async function createMessagesForEvents(trx: Tx, events: EventRow[], onError: (e: unknown) => void = () => {}): Promise<number> {
  const relevant = events.filter((e) => e.member_id && MESSAGE_KINDS.some((k) => KIND_INFO[k].trigger === e.type));
  if (relevant.length === 0) return 0;
  const programIds = [...new Set(relevant.map((e) => e.program_id))];
  const settingsByProgram = new Map((await repo.findSettingsRows(trx, programIds)).map((r) => [r.program_id, effectiveSettings(r.settings)]));
  const rows: repo.NewMessage[] = [];
  for (const event of relevant) {
    const settings = settingsByProgram.get(event.program_id);
    if (!settings || settings.messages.channels.length === 0) continue;
    for (const candidate of await candidatesFor(trx, event, settings, onError)) {
      for (const channel of settings.messages.channels) {
        rows.push({
          program_id: event.program_id, member_id: event.member_id!, kind: candidate.kind, channel,
          dedupe_key: `${candidate.key}:${channel}`, event_id: event.id, context: candidate.context,
        });
      }
    }
  }
  return repo.insertMessages(trx, rows);
}

