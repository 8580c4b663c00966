import { randomUUID } from 'node:crypto';
import { invariant } from '../http/error-codes.ts';

/**
 * A version-7 UUID (RFC 9562) for a row the application creates: 48 bits of Unix time in
 * milliseconds, the version, then 74 random bits, the layout the database's own keys have
 * (laurel_uuid_v7, migration 0017). Keys made together sit side by side in their indexes.
 *
 * Pass the operation's instant (the database clock, as every time Laurel writes): the id then
 * orders with the row's own timestamps whatever this server's clock says. The random part comes
 * from randomUUID, whose bits after the version are those of a version-4 UUID.
 */
export function timeOrderedId(at: Date): string {
  const ms = at.getTime();
  invariant(Number.isSafeInteger(ms) && ms >= 0 && ms < 2 ** 48, `a time-ordered id needs an instant from 1970 to 10889, not ${String(at)}`);
  const time = ms.toString(16).padStart(12, '0');
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; keep what follows its version nibble.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

/** The instant a time-ordered id was made at (its first 48 bits). */
export function timeOfId(id: string): Date {
  return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}
