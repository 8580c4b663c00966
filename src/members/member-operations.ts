import { withTransaction, type Db, type Executor } from '../db/database.ts';
import { recordEvent } from '../events/event-repository.ts';
import { ProblemError } from '../http/error-codes.ts';
import { insertAuditEvent } from '../programs/program-repository.ts';
// Joining claims earlier orders and the sign-up bonus (orders and earning rules, issue 3).
import { onMemberCreated } from '../orders/on-member-created.ts';
import { normalizePhone } from './phone.ts';
import * as repo from './member-repository.ts';
import type { MemberRow } from './member-repository.ts';
import { badCursor } from '../http/cursor.ts';

export interface MemberInput {
  customerId?: string | null;
  email?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  birthday?: string | null;
  locale?: string | null;
  marketingConsent?: boolean;
  tags?: string[];
  attributes?: Record<string, unknown>;
  status?: 'active' | 'blocked';
  enrollmentSource?: string;
}

export function memberView(m: MemberRow) {
  return {
    id: m.id,
    customerId: m.customer_id,
    email: m.email,
    phone: m.phone,
    firstName: m.first_name,
    lastName: m.last_name,
    birthday: m.birthday,
    locale: m.locale,
    marketingConsent: m.marketing_consent,
    tags: m.tags,
    attributes: m.attributes,
    status: m.status,
    enrollmentSource: m.enrollment_source,
    enrolledAt: m.enrolled_at.toISOString(),
    createdAt: m.created_at.toISOString(),
    updatedAt: m.updated_at.toISOString(),
  };
}

function assertBirthday(value: string) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const [y, m, d] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  const date = new Date(Date.UTC(y, m - 1, d));
  const real = match && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  if (!real || y < 1900 || date.getTime() > Date.now()) {
    throw new ProblemError('invalid_date', `birthday "${value}" is not a real past date (YYYY-MM-DD, from 1900)`, { field: 'birthday' });
  }
}

function toValues(input: MemberInput, defaultCountry?: string): repo.MemberValues {
  const values: repo.MemberValues = {};
  if (input.customerId !== undefined) values.customer_id = input.customerId;
  if (input.email !== undefined) {
    if (input.email !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(input.email)) {
      throw new ProblemError('invalid_email', `"${input.email}" is not an email address`, { field: 'email' });
    }
    values.email = input.email;
  }
  if (input.phone !== undefined) values.phone = input.phone === null ? null : normalizePhone(input.phone, defaultCountry);
  if (input.firstName !== undefined) values.first_name = input.firstName;
  if (input.lastName !== undefined) values.last_name = input.lastName;
  if (input.birthday !== undefined) {
    if (input.birthday !== null) assertBirthday(input.birthday);
    values.birthday = input.birthday;
  }
  if (input.locale !== undefined) values.locale = input.locale;
  if (input.marketingConsent !== undefined) values.marketing_consent = input.marketingConsent;
  if (input.tags !== undefined) values.tags = [...new Set(input.tags)];
  if (input.attributes !== undefined) values.attributes = input.attributes;
  if (input.status !== undefined) values.status = input.status;
  if (input.enrollmentSource !== undefined) values.enrollment_source = input.enrollmentSource;
  return values;
}

const CONSTRAINT_FIELD: Record<string, string> = {
  members_customer_id: 'customerId',
  members_email: 'email',
  members_phone: 'phone',
};

/** Unique violations on customer id, email or phone become a 409 that names the field. */
async function guardConflicts<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const pgError = error as { code?: string; constraint?: string };
    if (pgError.code === '23505' && pgError.constraint && CONSTRAINT_FIELD[pgError.constraint]) {
      const field = CONSTRAINT_FIELD[pgError.constraint]!;
      throw new ProblemError('member_conflict', `another member already has this ${field}`, { field });
    }
    throw error;
  }
}

function defaultCountryOf(program: { settings: Record<string, unknown> }): string | undefined {
  const value = program.settings.defaultCountry;
  return typeof value === 'string' ? value : undefined;
}

/** `now`: the instant of enrolment when a test clock sets one; else the database's clock. */
export async function createMember(db: Executor, program: { id: string; settings: Record<string, unknown> }, actor: string, input: MemberInput, now?: Date) {
  const values = toValues(input, defaultCountryOf(program));
  return guardConflicts(() =>
    withTransaction(db, async (trx) => {
      const member = await repo.insertMember(trx, program.id, values, now);
      await recordEvent(trx, program.id, 'member.created', member.id, { member: memberView(member), actor });
      await onMemberCreated(trx, program.id, member);
      return member;
    }),
  );
}

/** Creates or updates the member with this shop customer id; `created` tells which. */
export async function upsertMemberByCustomerId(
  db: Db, program: { id: string; settings: Record<string, unknown> }, actor: string, customerId: string, input: MemberInput, now?: Date,
) {
  const values = toValues({ ...input, customerId }, defaultCountryOf(program));
  return guardConflicts(() =>
    db.transaction().execute(async (trx) => {
      const update = async (existing: MemberRow) => {
        const { enrollment_source: _ignored, ...changes } = values;
        const member = (await repo.updateMemberRow(trx, program.id, existing.id, changes))!;
        await afterUpdate(trx, program.id, actor, existing, member);
        return { member, created: false };
      };
      const existing = await repo.lockMemberByCustomerId(trx, program.id, customerId);
      if (existing) return update(existing);
      // A concurrent upsert of the same new customer id makes this insert wait for it and then
      // do nothing; the member it created is updated instead.
      const member = await repo.insertMemberIfAbsent(trx, program.id, values, now);
      if (!member) return update((await repo.lockMemberByCustomerId(trx, program.id, customerId))!);
      await recordEvent(trx, program.id, 'member.created', member.id, { member: memberView(member), actor });
      await onMemberCreated(trx, program.id, member);
      return { member, created: true };
    }),
  );
}

async function afterUpdate(trx: Executor, programId: string, actor: string, before: MemberRow, after: MemberRow) {
  if (before.status !== after.status) {
    await insertAuditEvent(trx, {
      program_id: programId, actor, action: after.status === 'blocked' ? 'member.blocked' : 'member.unblocked',
      subject_type: 'member', subject_id: after.id, details: { from: before.status, to: after.status },
    });
    await recordEvent(trx, programId, 'member.status_changed', after.id, { memberId: after.id, from: before.status, to: after.status });
  }
  await recordEvent(trx, programId, 'member.updated', after.id, { member: memberView(after), actor });
}

export async function updateMember(db: Db, program: { id: string; settings: Record<string, unknown> }, actor: string, id: string, input: MemberInput) {
  const values = toValues(input, defaultCountryOf(program));
  return guardConflicts(() =>
    db.transaction().execute(async (trx) => {
      const before = await repo.findMemberRow(trx, program.id, id);
      if (!before) throw new ProblemError('member_not_found');
      const member = (await repo.updateMemberRow(trx, program.id, id, values))!;
      await afterUpdate(trx, program.id, actor, before, member);
      return member;
    }),
  );
}

export async function getMember(db: Executor, programId: string, id: string) {
  const member = await repo.findMemberRow(db, programId, id);
  if (!member) throw new ProblemError('member_not_found');
  return member;
}

export async function lookupMember(db: Executor, program: { id: string; settings: Record<string, unknown> }, key: { customerId?: string; email?: string; phone?: string }) {
  const normalized = key.phone !== undefined ? { phone: normalizePhone(key.phone, defaultCountryOf(program)) } : key;
  const member = await repo.findMemberBy(db, program.id, normalized);
  if (!member) throw new ProblemError('member_not_found', 'no member matches this customer id, email or phone');
  return member;
}

export function encodeCursor(m: { cursor_at: string; id: string }): string {
  return Buffer.from(JSON.stringify([m.cursor_at, m.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(createdAt) || Number.isNaN(Date.parse(createdAt))) throw new Error('bad cursor');
    if (typeof id !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new Error('bad cursor');
    return { createdAt, id };
  } catch {
    throw badCursor();
  }
}

export async function listMembers(
  db: Executor, program: { id: string; settings: Record<string, unknown> },
  query: { status?: 'active' | 'blocked'; tag?: string; email?: string; phone?: string; customerId?: string; enrolledAfter?: string; enrolledBefore?: string; cursor?: string; limit?: number },
) {
  const limit = query.limit ?? 50;
  const rows = await repo.listMemberRows(db, program.id, {
    status: query.status,
    tag: query.tag,
    email: query.email,
    phone: query.phone !== undefined ? normalizePhone(query.phone, defaultCountryOf(program)) : undefined,
    customerId: query.customerId,
    enrolledAfter: query.enrolledAfter ? new Date(query.enrolledAfter) : undefined,
    enrolledBefore: query.enrolledBefore ? new Date(query.enrolledBefore) : undefined,
    after: query.cursor ? decodeCursor(query.cursor) : undefined,
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  return { data: page.map(memberView), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null };
}
