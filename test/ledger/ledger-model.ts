/**
 * A small in-memory model of one wallet of the ledger, written from docs/ledger.md and nothing
 * else: lots consumed soonest-expiring first, pending points, reservations, negative balances and
 * their settlement, refunds into the lots they came from. The property test runs it in lockstep
 * with the API.
 */

export type Policy = 'allow_negative' | 'take_remaining';

export interface Lot {
  seq: number;
  member: number;
  amount: number;
  remaining: number;
  vested: boolean;
  vestsAt: number | null;
  expiresAt: number | null;
  /** Points that left this lot by expiry. */
  expired: number;
}

interface Allocation {
  lot: Lot;
  amount: number;
  released: number;
}

export interface Lifetime {
  earned: number; spent: number; expired: number; reversed: number; restored: number;
  adjustedIn: number; adjustedOut: number; transferredIn: number; transferredOut: number;
}

export interface Member {
  available: number;
  pending: number;
  reserved: number;
  lifetime: Lifetime;
}

export interface Earn { id: string; member: number; amount: number; reversed: number; lot: Lot; expiryCounted: number }
export interface Spend { id: string; member: number; amount: number; restored: number; allocations: Allocation[] }
export interface Reservation {
  id: string; member: number; amount: number; status: 'pending' | 'posted' | 'voided' | 'expired'; expiresAt: number; allocations: Allocation[];
}

export interface Outcome {
  status: number;
  code?: string;
  /** Filled in by the caller with the API's id once the request succeeded. */
  record?: { id: string };
}

const fail = (status: number, code: string): Outcome => ({ status, code });
const byExpiry = (a: Lot, b: Lot) =>
  (a.expiresAt ?? Infinity) - (b.expiresAt ?? Infinity) || a.seq - b.seq;

export class LedgerModel {
  members: Member[];
  lots: Lot[] = [];
  earns: Earn[] = [];
  /** Spends and posts: what restore can give back. */
  spends: Spend[] = [];
  reservations: Reservation[] = [];
  /** How often the interesting paths ran: evidence that the random sequences reach them. */
  readonly coverage = new Map<string, number>();
  private seq = 0;

  private saw(path: string, happened = true) {
    if (happened) this.coverage.set(path, (this.coverage.get(path) ?? 0) + 1);
  }

  constructor(memberCount: number, readonly policy: Policy) {
    this.members = Array.from({ length: memberCount }, () => ({
      available: 0, pending: 0, reserved: 0,
      lifetime: { earned: 0, spent: 0, expired: 0, reversed: 0, restored: 0, adjustedIn: 0, adjustedOut: 0, transferredIn: 0, transferredOut: 0 },
    }));
  }

  // ---------------------------------------------------------------- building blocks

  private newLot(member: number, amount: number, expiresAt: number | null, vestsAt: number | null, now: number): Lot {
    const vested = vestsAt === null || vestsAt <= now;
    const lot: Lot = { seq: this.seq++, member, amount, remaining: 0, vested, vestsAt: vested ? null : vestsAt, expiresAt, expired: 0 };
    this.lots.push(lot);
    if (vested) {
      this.creditAvailable(lot, amount);
    } else {
      this.members[member]!.pending += amount;
      lot.remaining = amount;
    }
    return lot;
  }

  /** Points entering available for a lot: a negative balance is settled first. */
  private creditAvailable(lot: Lot, amount: number) {
    const m = this.members[lot.member]!;
    const settled = Math.min(amount, Math.max(0, -m.available));
    this.saw('debt settled by incoming points', settled > 0);
    m.available += amount;
    lot.remaining += amount - settled;
  }

  private vest(lot: Lot) {
    if (lot.vested) return;
    const m = this.members[lot.member]!;
    const settled = Math.min(lot.remaining, Math.max(0, -m.available));
    this.saw('vest', lot.remaining > 0);
    this.saw('debt settled by vesting', settled > 0);
    m.pending -= lot.remaining;
    m.available += lot.remaining;
    lot.remaining -= settled;
    lot.vested = true;
  }

  private expire(lot: Lot): number {
    const amount = lot.remaining;
    if (amount === 0) return 0;
    const m = this.members[lot.member]!;
    if (lot.vested) m.available -= amount;
    else m.pending -= amount;
    this.saw(lot.vested ? 'expiry of vested points' : 'expiry of pending points');
    this.saw('expiry of points given back to an expired lot', lot.expired > 0);
    lot.remaining = 0;
    lot.expired += amount;
    m.lifetime.expired += amount;
    return amount;
  }

  liveLots(member: number): Lot[] {
    return this.lots.filter((l) => l.member === member && l.remaining > 0).sort(byExpiry);
  }

  private consume(member: number, amount: number): Allocation[] {
    const taken: Allocation[] = [];
    let left = amount;
    for (const lot of this.liveLots(member).filter((l) => l.vested)) {
      if (left === 0) break;
      const take = Math.min(left, lot.remaining);
      lot.remaining -= take;
      this.members[member]!.available -= take;
      taken.push({ lot, amount: take, released: 0 });
      left -= take;
    }
    if (left !== 0) throw new Error(`model: lots do not cover available (short by ${left})`);
    return taken;
  }

  /** Gives back to the lots an operation consumed, the last consumed first; returns the lots. */
  private release(allocations: Allocation[], amount: number, fromReserved: boolean): Lot[] {
    const lots: Lot[] = [];
    let left = amount;
    for (const a of [...allocations].reverse()) {
      if (left === 0) break;
      const give = Math.min(a.amount - a.released, left);
      if (give === 0) continue;
      if (fromReserved) this.members[a.lot.member]!.reserved -= give;
      this.creditAvailable(a.lot, give);
      a.released += give;
      lots.push(a.lot);
      left -= give;
    }
    if (left !== 0) throw new Error(`model: allocations do not cover the release (short by ${left})`);
    return lots;
  }

  private expireNowDue(member: number, now: number) {
    for (const lot of this.liveLots(member)) if (lot.expiresAt !== null && lot.expiresAt <= now) this.expire(lot);
  }

  /**
   * Applies everything due by `now` in order of due time (vesting, then reservation timeouts, then
   * expiry at one instant). Returns the points and lots it expired.
   */
  settle(member: number, now: number): { points: number; lots: number } {
    type Due = { at: number; rank: number; id: number | string; run: () => void };
    const queue: Due[] = [];
    let points = 0;
    const expiredLots = new Set<number>();
    const expireAt = (lot: Lot, at: number) => queue.push({
      at, rank: 2, id: lot.seq,
      run: () => {
        const amount = this.expire(lot);
        if (amount > 0) {
          points += amount;
          expiredLots.add(lot.seq);
        }
      },
    });
    for (const lot of this.lots) {
      if (lot.member === member && !lot.vested && lot.vestsAt! <= now) queue.push({ at: lot.vestsAt!, rank: 0, id: lot.seq, run: () => this.vest(lot) });
    }
    for (const r of this.reservations) {
      if (r.member !== member || r.status !== 'pending' || r.expiresAt > now) continue;
      queue.push({
        at: r.expiresAt, rank: 1, id: r.id,
        run: () => {
          this.saw('reservation timeout');
          r.status = 'expired';
          for (const lot of this.release(r.allocations, r.amount, true)) {
            if (lot.expiresAt !== null && lot.expiresAt <= now) expireAt(lot, Math.max(r.expiresAt, lot.expiresAt));
          }
        },
      });
    }
    for (const lot of this.liveLots(member)) if (lot.expiresAt !== null && lot.expiresAt <= now) expireAt(lot, lot.expiresAt);
    for (;;) {
      queue.sort((a, b) => a.at - b.at || a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const next = queue.shift();
      if (!next) break;
      next.run();
    }
    return { points, lots: expiredLots.size };
  }

  settleAll(now: number) {
    const total = { points: 0, lots: 0 };
    this.members.forEach((_, i) => {
      const r = this.settle(i, now);
      total.points += r.points;
      total.lots += r.lots;
    });
    return total;
  }

  // ---------------------------------------------------------------- operations (the member is settled first by the caller)

  earn(member: number, amount: number, now: number, vestsAt: number | null, expiresAt: number | null): Outcome {
    const lot = this.newLot(member, amount, expiresAt, vestsAt, now);
    this.members[member]!.lifetime.earned += amount;
    const record: Earn = { id: '', member, amount, reversed: 0, lot, expiryCounted: 0 };
    this.earns.push(record);
    return { status: 201, record };
  }

  spend(member: number, amount: number): Outcome {
    const m = this.members[member]!;
    if (m.available < amount) return fail(422, 'insufficient_points');
    const record: Spend = { id: '', member, amount, restored: 0, allocations: this.consume(member, amount) };
    m.lifetime.spent += amount;
    this.spends.push(record);
    return { status: 201, record };
  }

  reserve(member: number, amount: number, now: number, timeoutMs: number): Outcome {
    const m = this.members[member]!;
    if (m.available < amount) return fail(422, 'insufficient_points');
    const allocations = this.consume(member, amount);
    m.reserved += amount;
    const record: Reservation = { id: '', member, amount, status: 'pending', expiresAt: now + timeoutMs, allocations };
    this.reservations.push(record);
    return { status: 201, record };
  }

  post(r: Reservation, amount: number | null, now: number): Outcome {
    if (r.status !== 'pending') return fail(409, 'reservation_not_pending');
    const posted = amount ?? r.amount;
    if (posted > r.amount) return fail(422, 'amount_exceeds_reservation');
    const m = this.members[r.member]!;
    this.saw('partial post', posted < r.amount);
    m.reserved -= posted;
    m.lifetime.spent += posted;
    this.release(r.allocations, r.amount - posted, true);
    r.status = 'posted';
    this.expireNowDue(r.member, now);
    // The posted part keeps its allocations: restoring the post gives them back.
    const record: Spend = { id: '', member: r.member, amount: posted, restored: 0, allocations: r.allocations };
    this.spends.push(record);
    return { status: 200, record };
  }

  void(r: Reservation, now: number): Outcome {
    if (r.status !== 'pending') return fail(409, 'reservation_not_pending');
    this.release(r.allocations, r.amount, true);
    r.status = 'voided';
    this.expireNowDue(r.member, now);
    return { status: 200 };
  }

  reverse(e: Earn, amount: number | null): Outcome & { taken?: number; alreadyExpired?: number; forgiven?: number } {
    const reversible = e.amount - e.reversed;
    const requested = amount ?? reversible;
    if (requested > reversible || requested === 0) return fail(422, 'reversal_exceeds_earn');
    const m = this.members[e.member]!;
    const lot = e.lot;
    let left = requested;
    const fromLot = Math.min(left, lot.remaining);
    left -= fromLot;
    const alreadyExpired = Math.min(left, lot.expired - e.expiryCounted);
    left -= alreadyExpired;
    const fromOthers = Math.min(left, Math.max(0, m.available - (lot.vested ? lot.remaining : 0)));
    left -= fromOthers;
    const debt = this.policy === 'allow_negative' ? left : 0;
    this.saw('reversal from pending points', fromLot > 0 && !lot.vested);
    this.saw('reversal: already expired', alreadyExpired > 0);
    this.saw('reversal from other points', fromOthers > 0);
    this.saw('reversal into debt', debt > 0);
    this.saw('reversal forgiven', left - debt > 0);
    if (lot.vested) m.available -= fromLot;
    else m.pending -= fromLot;
    lot.remaining -= fromLot;
    this.consume(e.member, fromOthers);
    m.available -= debt;
    e.reversed += requested;
    e.expiryCounted += alreadyExpired;
    const taken = fromLot + fromOthers + debt;
    m.lifetime.reversed += taken;
    return { status: 201, taken, alreadyExpired, forgiven: left - debt };
  }

  restore(s: Spend, amount: number | null, now: number): Outcome {
    const restorable = s.amount - s.restored;
    const requested = amount ?? restorable;
    if (requested > restorable || requested === 0) return fail(422, 'restore_exceeds_spend');
    this.release(s.allocations, requested, false);
    this.expireNowDue(s.member, now);
    s.restored += requested;
    this.members[s.member]!.lifetime.restored += requested;
    return { status: 201 };
  }

  transfer(from: number, to: number, amount: number, now: number): Outcome {
    if (from === to) return fail(422, 'transfer_to_self');
    const sender = this.members[from]!;
    if (sender.available < amount) return fail(422, 'insufficient_points');
    for (const a of this.consume(from, amount)) this.newLot(to, a.amount, a.lot.expiresAt, null, now);
    sender.lifetime.transferredOut += amount;
    this.members[to]!.lifetime.transferredIn += amount;
    return { status: 201 };
  }

  adjust(member: number, amount: number, now: number, expiresAt: number | null): Outcome {
    const m = this.members[member]!;
    if (amount > 0) {
      this.newLot(member, amount, expiresAt, null, now);
      m.lifetime.adjustedIn += amount;
    } else {
      if (m.available < -amount) return fail(422, 'insufficient_points');
      this.consume(member, -amount);
      m.lifetime.adjustedOut += -amount;
    }
    return { status: 201 };
  }

  /** What GET …/balances/points shows for a member. */
  balance(member: number) {
    const m = this.members[member]!;
    const byDate = new Map<number, number>();
    for (const lot of this.liveLots(member)) if (lot.expiresAt !== null) byDate.set(lot.expiresAt, (byDate.get(lot.expiresAt) ?? 0) + lot.remaining);
    const nextExpirations = [...byDate].sort(([a], [b]) => a - b).slice(0, 5).map(([at, amount]) => ({ amount, expiresAt: new Date(at).toISOString() }));
    return { available: m.available, pending: m.pending, reserved: m.reserved, lifetime: { ...m.lifetime }, nextExpirations };
  }

  /** What GET …/lots shows for a member: live lots, soonest-expiring first. */
  lotsOf(member: number) {
    return this.liveLots(member).map((l) => ({
      amount: l.amount, remaining: l.remaining, vested: l.vested,
      vestsAt: l.vestsAt === null ? null : new Date(l.vestsAt).toISOString(),
      expiresAt: l.expiresAt === null ? null : new Date(l.expiresAt).toISOString(),
    }));
  }
}
