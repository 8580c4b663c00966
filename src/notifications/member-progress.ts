import type { Executor } from '../db/database.ts';

/**
 * What the tiers and rewards modules know about a member's progress, for messages ("120 points
 * to Gold", "you can now afford…"). Those modules register a provider; without one the
 * variables stay empty and the points_to_next message never fires.
 */
export interface MemberProgress {
  tier?: { id: string; name: string } | null;
  /** The next tier and what is missing for it, in the tier metric's unit (money in minor units). */
  nextTier?: { id: string; name: string; gap: number; unit: 'points' | 'money' | 'orders' } | null;
  /** The cheapest reward the member cannot afford yet, and the points missing for it. */
  nextReward?: { id: string; name: string; cost: number; missing: number } | null;
}

export type ProgressProvider = (db: Executor, input: { programId: string; memberId: string; wallet: string }) => Promise<MemberProgress>;

const providers = new Map<string, ProgressProvider>();

export function registerProgressProvider(name: string, provider: ProgressProvider): () => void {
  providers.set(name, provider);
  return () => providers.delete(name);
}

export function hasProgressProviders(): boolean {
  return providers.size > 0;
}

/** Every provider's answer merged; a failing provider is left out rather than failing the message. */
export async function memberProgress(
  db: Executor, input: { programId: string; memberId: string; wallet: string }, onError: (name: string, error: unknown) => void = () => {},
): Promise<MemberProgress> {
  const merged: MemberProgress = {};
  for (const [name, provider] of providers) {
    try {
      const part = await provider(db, input);
      for (const [key, value] of Object.entries(part)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    } catch (error) {
      onError(name, error);
    }
  }
  return merged;
}
