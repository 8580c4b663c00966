import type { Db } from '../db/database.ts';
import { authenticate, type Principal } from '../programs/program-operations.ts';
import { ProblemError } from './error-codes.ts';

const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 10_000;

/**
 * Resolves `Authorization: Bearer <key>` to its program. Valid keys are cached for a few seconds
 * to spare the database one query per request; revoking through this process clears the cache
 * at once, other processes see a revocation within CACHE_TTL_MS.
 */
export function createAuthenticator(db: Db) {
  const cache = new Map<string, { principal: Principal; until: number }>();
  return {
    /**
     * The program of a key. Answers at once (no promise) from the cache, and throws at once for a
     * malformed header: most requests then cost the hook no promise and no turn of the microtask queue.
     */
    authenticate(header: string | undefined): Principal | Promise<Principal> {
      const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) throw new ProblemError('unauthorized', 'send the secret API key as "Authorization: Bearer <key>"');
      const secret = match[1]!;
      const hit = cache.get(secret);
      if (hit && hit.until > Date.now()) return hit.principal;
      return authenticate(db, secret).then((principal) => {
        if (!principal) {
          cache.delete(secret);
          throw new ProblemError('unauthorized', 'unknown or revoked API key');
        }
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(secret, { principal, until: Date.now() + CACHE_TTL_MS });
        return principal;
      });
    },
    forgetKey(keyId: string) {
      for (const [secret, entry] of cache) if (entry.principal.keyId === keyId) cache.delete(secret);
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
