import { ProblemError } from './error-codes.ts';

/**
 * List cursors. Opaque to clients; a cursor this API did not return is a 400, never a 500 or a
 * wrong page.
 *
 * - Key cursors page over (instant, id): the instant as ISO text with milliseconds. Exact because
 *   every column paged this way holds milliseconds (a constraint, migration 0007). Members page
 *   over microsecond instants and carry theirs as text (member-operations.ts).
 * - Id cursors page over a bigint identity (entries, events, deliveries, tier history).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ID = /^[1-9][0-9]{0,15}$/;

export function badCursor(): ProblemError {
  return new ProblemError('validation_failed', 'cursor is not a cursor returned by this API', { field: 'cursor' });
}

export function encodeKeyCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

export function decodeKeyCursor(cursor: string): { at: Date; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw badCursor();
  const [text, id] = parsed as unknown[];
  const at = typeof text === 'string' ? new Date(text) : new Date(NaN);
  if (Number.isNaN(at.getTime()) || typeof id !== 'string' || !UUID.test(id)) throw badCursor();
  return { at, id };
}

/** A key cursor as the repositories' (created_at, id) filters take it. */
export function keyOf(cursor: { at: Date; id: string }): { createdAt: Date; id: string } {
  return { createdAt: cursor.at, id: cursor.id };
}

/** The id before (or after) which the next page starts; undefined for the first page. */
export function decodeIdCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const id = Number(cursor);
  if (!ID.test(cursor) || !Number.isSafeInteger(id)) throw badCursor();
  return id;
}
