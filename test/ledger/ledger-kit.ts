import { sql } from 'kysely';
import { expect } from 'vitest';
import type { TestContext, TestProgram } from '../helpers.ts';

/** Small helpers over the HTTP API shared by the ledger tests. */
export function ledgerKit(t: TestContext) {
  const as = (program?: TestProgram) => (program ? { key: program.key } : {});

  async function expectStatus(res: { status: number; body: any }, status: number, code?: string) {
    if (res.status !== status || (code !== undefined && res.body?.code !== code)) {
      throw new Error(`expected ${status}${code ? ` ${code}` : ''}, got ${res.status}: ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  return {
    expectStatus,

    /** POSTs and asserts the status; returns the body. */
    async post(url: string, body: unknown, status = 201, program?: TestProgram) {
      return expectStatus(await t.call('POST', url, { body, ...as(program) }), status);
    },

    /** POSTs a request that must fail with this status and code, and change nothing. */
    async rejects(url: string, body: unknown, status: number, code: string, options: { program?: TestProgram; idempotencyKey?: string | false; headers?: Record<string, string> } = {}) {
      const programId = options.program?.id ?? t.program.id;
      const before = await snapshot(programId);
      const res = await t.call('POST', url, { body, key: options.program?.key, idempotencyKey: options.idempotencyKey, headers: options.headers });
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(await snapshot(programId)).toEqual(before);
      return res.body;
    },

    async balance(memberId: string, wallet = 'points', program?: TestProgram) {
      return expectStatus(await t.call('GET', `/v1/members/${memberId}/balances/${wallet}`, as(program)), 200);
    },

    async lots(memberId: string, query = '', program?: TestProgram) {
      return (await expectStatus(await t.call('GET', `/v1/members/${memberId}/lots${query}`, as(program)), 200)).data as any[];
    },

    async entries(memberId: string, query = '', program?: TestProgram) {
      return expectStatus(await t.call('GET', `/v1/members/${memberId}/entries${query}`, as(program)), 200);
    },

    async verify(program?: TestProgram) {
      const report = await expectStatus(await t.call('GET', '/v1/ledger/verify', as(program)), 200);
      if (!report.ok) throw new Error(`ledger verification failed: ${JSON.stringify(report.checks.filter((c: any) => !c.ok))}`);
      return report;
    },

    async setPolicy(reversalPolicy: 'allow_negative' | 'take_remaining', program?: TestProgram) {
      await expectStatus(await t.call('PATCH', '/v1/program', { body: { reversalPolicy }, ...as(program) }), 200);
    },

    async block(memberId: string, program?: TestProgram) {
      await expectStatus(await t.call('PATCH', `/v1/members/${memberId}`, { body: { status: 'blocked' }, ...as(program) }), 200);
    },

    snapshot,

    async idempotencyKeys(programId = t.program.id) {
      const row = await t.db.db.selectFrom('idempotency_keys').select((eb) => eb.fn.countAll<string>().as('n')).where('program_id', '=', programId).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };

  /** The ledger state of a program, read straight from the database (idempotency keys aside: a business failure is stored). */
  async function snapshot(programId: string) {
    const { rows } = await sql<Record<string, string>>`
      select
        (select count(*) from entries where program_id = ${programId}) as entries,
        (select count(*) from operations where program_id = ${programId}) as operations,
        (select count(*) from lots where program_id = ${programId}) as lots,
        (select coalesce(sum(remaining), 0) from lots where program_id = ${programId}) as "lotsRemaining",
        (select count(*) from reservations where program_id = ${programId}) as reservations,
        (select string_agg(status, ',' order by id) from reservations where program_id = ${programId}) as "reservationStatuses",
        (select string_agg(kind || ':' || balance, ',' order by id) from accounts where program_id = ${programId} and member_id is not null) as balances,
        (select count(*) from events where program_id = ${programId}) as events`.execute(t.db.db);
    return rows[0];
  }
}

export const iso = (date: Date) => date.toISOString();
export const plus = (date: Date, ms: number) => new Date(date.getTime() + ms);
