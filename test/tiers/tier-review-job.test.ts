import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { tierTasks, TIERS_CRONTAB } from '../../src/tiers/tier-jobs.ts';
import { reviewTiers } from '../../src/tiers/tier-review.ts';
import { setupTestApp, TestClock, type TestProgram } from '../helpers.ts';
import { activity, history, ladder, putLadder, tierOf } from './tier-kit.ts';

describe('tier review job', async () => {
  const clock = new TestClock(new Date('2025-03-01T17:00:00Z'));
  const t = await setupTestApp({ clock });

  /** n VIB members from 2025; the even ones spend again in 2026, the odd ones do not. */
  async function cohort(n: number): Promise<{ p: TestProgram; ids: string[] }> {
    clock.set('2025-03-01T17:00:00Z');
    const p = await t.newProgram();
    await putLadder(t, ladder(), p);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const m = await t.member({}, p);
      ids.push(m.id);
      await activity(t, m.id, { net_spend: 40_000 }, { program: p, occurredAt: '2025-03-01T12:00:00Z' });
    }
    clock.set('2026-01-01T05:00:00Z');
    await reviewTiers(t.db.db, { programId: p.id, now: new Date('2026-01-01T05:00:00Z') });
    clock.set('2026-06-01T12:00:00Z');
    for (const [i, id] of ids.entries()) if (i % 2 === 0) await activity(t, id, { net_spend: 40_000 }, { program: p });
    return { p, ids };
  }

  const due = async (programId: string, now: Date) =>
    Number((await t.db.db.selectFrom('member_tiers').select((eb) => eb.fn.countAll().as('n')).where('program_id', '=', programId).where('due_at', '<=', now).executeTakeFirstOrThrow()).n);

  it('works in batches, resumes where a stopped run left off, and a rerun changes nothing', async () => {
    const { p, ids } = await cohort(24);
    const now = new Date('2027-01-02T00:00:00Z');
    expect(await due(p.id, now)).toBe(24);
    const first = await reviewTiers(t.db.db, { programId: p.id, now, batchSize: 5, maxBatches: 2 });
    expect(first).toMatchObject({ batches: 2, members: 10, reviewed: 10, stoppedEarly: true });
    expect(await due(p.id, now)).toBe(14);
    const rest = await reviewTiers(t.db.db, { programId: p.id, now, batchSize: 5 });
    expect(rest).toMatchObject({ batches: 3, members: 14, stoppedEarly: false });
    expect(first.downgraded + rest.downgraded).toBe(12);
    const again = await reviewTiers(t.db.db, { programId: p.id, now, batchSize: 5 });
    expect(again).toMatchObject({ batches: 0, members: 0, downgraded: 0 });
    for (const [i, id] of ids.entries()) {
      expect(await tierOf(t, id, p)).toBe(i % 2 === 0 ? 'vib' : 'insider');
      expect((await history(t, id, p)).map((h) => h.reason)).toEqual(i % 2 === 0 ? ['qualified'] : ['review', 'qualified']);
    }
    const changed = await t.db.db.selectFrom('events').select('member_id').where('program_id', '=', p.id).where('type', '=', 'tier.changed').execute();
    expect(changed).toHaveLength(24 + 12);
  });

  it('two runs at once share the work without doing any member twice', async () => {
    const { p, ids } = await cohort(16);
    const now = new Date('2027-01-02T00:00:00Z');
    const [a, b] = await Promise.all([
      reviewTiers(t.db.db, { programId: p.id, now, batchSize: 3 }),
      reviewTiers(t.db.db, { programId: p.id, now, batchSize: 3 }),
    ]);
    expect(a.reviewed + b.reviewed).toBe(16);
    expect(a.downgraded + b.downgraded).toBe(8);
    const rows = await t.db.db.selectFrom('member_tier_history').select('member_id').where('program_id', '=', p.id).where('reason', '=', 'review').execute();
    expect(rows.map((r) => r.member_id).sort()).toEqual(ids.filter((_, i) => i % 2 === 1).sort());
  });

  it('holds the ladder shared while a batch runs, and wakes the outbox for the events it wrote', async () => {
    const { p } = await cohort(4);
    const now = new Date('2027-01-02T00:00:00Z');
    const connect = async () => {
      const client = new pg.Client({ connectionString: t.db.url });
      await client.connect();
      return client;
    };
    const [editor, listener] = [await connect(), await connect()];
    try {
      const wakes: string[] = [];
      listener.on('notification', (n) => wakes.push(String(n.payload)));
      await listener.query('listen laurel_worker');
      // A ladder change in progress holds the ladder (lockLadder): the review may not assign
      // tiers it could be removing, so the review's batch waits for it.
      await editor.query('begin');
      await editor.query('select 1 from tier_ladders where program_id = $1 for update', [p.id]);
      let finished = false;
      const review = reviewTiers(t.db.db, { programId: p.id, now }).then((r) => { finished = true; return r; });
      await new Promise((r) => setTimeout(r, 300));
      expect(finished).toBe(false);
      await editor.query('commit');
      expect(await review).toMatchObject({ reviewed: 4, downgraded: 2 });
      // Its tier.changed events reached the outbox and the dispatcher was woken (events_notify
      // is silent while the batch skips triggers, so the batch sends the wake itself).
      await listener.query('select 1');
      expect(wakes).toContain('outbox');
    } finally {
      await editor.end();
      await listener.end();
    }
  });

  it('catches up on reviews missed for years, one review at a time', async () => {
    const p = await t.newProgram();
    clock.set('2025-03-01T17:00:00Z');
    await putLadder(t, ladder({ downgradeOneLevelAtATime: true }), p);
    const m = await t.member({}, p);
    await activity(t, m.id, { net_spend: 150_000 }, { program: p });
    const result = await reviewTiers(t.db.db, { programId: p.id, now: new Date('2029-06-01T00:00:00Z') });
    // 2026: kept (2025 qualified). 2027: rouge→vib. 2028: vib→insider. Then nothing to review.
    expect(result).toMatchObject({ reviewed: 3, downgraded: 2 });
    expect((await history(t, m.id, p)).map((h) => `${h.from}>${h.to}`)).toEqual(['vib>insider', 'rouge>vib', 'insider>rouge']);
  });

  it('runs as the hourly worker task over every program with a ladder', async () => {
    const { p, ids } = await cohort(4);
    expect(TIERS_CRONTAB).toMatch(/^7 \* \* \* \* tier_review /);
    const logged: string[] = [];
    const task = tierTasks(t.db.db, { clock: () => new Date('2027-01-01T06:00:00Z') }).tier_review!;
    await task({}, { logger: { info: (m: string) => logged.push(m) } } as never);
    expect(logged.join()).toContain(p.id);
    expect(await tierOf(t, ids[1]!, p)).toBe('insider');
    expect(await tierOf(t, ids[0]!, p)).toBe('vib');
  });
});
