import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'lrl_sk_';

export interface NewApiKey {
  secret: string;
  prefix: string;
  hash: Buffer;
}

export function generateApiKey(): NewApiKey {
  const secret = PREFIX + randomBytes(32).toString('base64url');
  return { secret, prefix: secret.slice(0, PREFIX.length + 6), hash: hashApiKey(secret) };
}

export function hashApiKey(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function looksLikeApiKey(value: string): boolean {
  return value.startsWith(PREFIX) && value.length === PREFIX.length + 43;
}
