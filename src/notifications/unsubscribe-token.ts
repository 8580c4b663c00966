import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Unsubscribe links carry `base64url(programId ‖ memberId).base64url(HMAC-SHA256(key, …)[0..16])`:
 * stateless, unguessable without the program's signing key, and naming nobody in clear text.
 */
function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function uuidOf(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function mac(key: Buffer, ids: Buffer): Buffer {
  return createHmac('sha256', key).update('unsubscribe:').update(ids).digest().subarray(0, 16);
}

export function unsubscribeToken(key: Buffer, programId: string, memberId: string): string {
  const ids = Buffer.concat([uuidBytes(programId), uuidBytes(memberId)]);
  return `${ids.toString('base64url')}.${mac(key, ids).toString('base64url')}`;
}

/** The ids a token names, before checking it (the key depends on the program). */
export function parseUnsubscribeToken(token: string): { programId: string; memberId: string; ids: Buffer; signature: Buffer } | null {
  const match = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/.exec(token);
  if (!match) return null;
  const ids = Buffer.from(match[1]!, 'base64url');
  const signature = Buffer.from(match[2]!, 'base64url');
  if (ids.length !== 32 || signature.length !== 16) return null;
  // One spelling per token: unused low bits of the last character must be zero.
  if (ids.toString('base64url') !== match[1] || signature.toString('base64url') !== match[2]) return null;
  return { programId: uuidOf(ids.subarray(0, 16)), memberId: uuidOf(ids.subarray(16)), ids, signature };
}

export function verifyUnsubscribeToken(key: Buffer, parsed: { ids: Buffer; signature: Buffer }): boolean {
  return timingSafeEqual(mac(key, parsed.ids), parsed.signature);
}
