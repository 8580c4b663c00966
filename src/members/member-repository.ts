import { sql } from 'kysely';
import type { Executor } from '../db/database.ts';

export interface MemberValues {
  customer_id?: string | null;
  email?: string | null;
  phone?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  birthday?: string | null;
  locale?: string | null;
  marketing_consent?: boolean;
  tags?: string[];
  attributes?: Record<string, unknown>;
  status?: 'active' | 'blocked';
  enrollment_source?: string;
}

function encode(values: MemberValues) {
  const { attributes, ...rest } = values;
  return { ...rest, ...(attributes !== undefined ? { attributes: JSON.stringify(attributes) } : {}) };
}

/**
 * Lower-cases like the generated column email_normalized (and its unique index) does: in SQL,
 * so that a lookup and the uniqueness check always agree (JavaScript's toLowerCase folds
 * letters the database collation may keep, and an exact address would then not be found).
 */
function lowerEmail(email: string) {
  return sql<string>`lower(${email})`;
}

export async function findMemberRow(db: Executor, programId: string, id: string) {
  return db.selectFrom('members').selectAll().where('program_id', '=', programId).where('id', '=', id).executeTakeFirst();
}

export type MemberRow = NonNullable<Awaited<ReturnType<typeof findMemberRow>>>;

/** The enrolment's timestamps when a test clock sets them; otherwise the columns' defaults (now()). */
const enrolledOn = (now: Date | undefined) => (now ? { enrolled_at: now, created_at: now, updated_at: now } : {});

export async function insertMember(db: Executor, programId: string, values: MemberValues, now?: Date) {
  return db
    .insertInto('members')
    .values({ program_id: programId, ...encode(values), ...enrolledOn(now) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertMemberIfAbsent(db: Executor, programId: string, values: MemberValues, now?: Date) {
  return db
    .insertInto('members')
    .values({ program_id: programId, ...encode(values), ...enrolledOn(now) })
    .onConflict((oc) => oc.columns(['program_id', 'customer_id']).where('customer_id', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function updateMemberRow(db: Executor, programId: string, id: string, values: MemberValues) {
  return db
    .updateTable('members')
    .set({ ...encode(values), updated_at: sql<Date>`now()` })
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function findMemberBy(db: Executor, programId: string, key: { customerId?: string; email?: string; phone?: string }) {
  let q = db.selectFrom('members').selectAll().where('program_id', '=', programId);
  if (key.customerId !== undefined) q = q.where('customer_id', '=', key.customerId);
  else if (key.email !== undefined) q = q.where('email_normalized', '=', lowerEmail(key.email));
  else if (key.phone !== undefined) q = q.where('phone', '=', key.phone);
  else return undefined;
  return q.executeTakeFirst();
}

export async function lockMemberByCustomerId(db: Executor, programId: string, customerId: string) {
  return db
    .selectFrom('members')
    .selectAll()
    .where('program_id', '=', programId)
    .where('customer_id', '=', customerId)
    .forUpdate()
    .executeTakeFirst();
}

export interface MemberFilter {
  status?: 'active' | 'blocked';
  tag?: string;
  email?: string;
  phone?: string;
  customerId?: string;
  enrolledAfter?: Date;
  enrolledBefore?: Date;
  /** Keyset position: created_at as exact UTC text (microseconds), and id. */
  after?: { createdAt: string; id: string };
  limit: number;
}

export async function listMemberRows(db: Executor, programId: string, filter: MemberFilter) {
  // created_at has microseconds and a JS Date only milliseconds: the cursor carries the exact
  // value as text, or a page boundary inside one millisecond would repeat or skip members.
  let q = db
    .selectFrom('members')
    .selectAll()
    .select(sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'))
    .where('program_id', '=', programId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.tag) q = q.where(sql<boolean>`tags @> array[${filter.tag}]::text[]`);
  if (filter.email) q = q.where('email_normalized', '=', lowerEmail(filter.email));
  if (filter.phone) q = q.where('phone', '=', filter.phone);
  if (filter.customerId) q = q.where('customer_id', '=', filter.customerId);
  if (filter.enrolledAfter) q = q.where('enrolled_at', '>=', filter.enrolledAfter);
  if (filter.enrolledBefore) q = q.where('enrolled_at', '<', filter.enrolledBefore);
  if (filter.after) {
    const { createdAt, id } = filter.after;
    q = q.where(sql<boolean>`(created_at, id) > (${createdAt}::timestamptz, ${id}::uuid)`);
  }
  return q.orderBy('created_at').orderBy('id').limit(filter.limit).execute();
}
