/**
 * Checks every request's text before validation, for what would otherwise fail deep inside as a
 * 500: PostgreSQL text and jsonb cannot hold the NUL character (U+0000), and a hostile nesting
 * depth overflows any recursive walk (hashing, canonical JSON, jsonb). Either is a 400 naming
 * where it is, and nothing is written.
 */

const NUL = '\u0000';

/** Deeper than any Laurel document (metadata and attributes included) needs. */
export const MAX_DEPTH = 32;

export type InputFault = { kind: 'nul' | 'depth'; at: string };

/** The first fault in a parsed value (query, params, JSON body), or null. Never overflows the stack. */
export function inspectInput(value: unknown, root: string, maxDepth = MAX_DEPTH): InputFault | null {
  // Nearly every request is clean: checked first without building the path of every value,
  // which only a fault's message needs.
  return isClean(value, 0, maxDepth) ? null : findFault(value, root, maxDepth);
}

/** No NUL and no nesting beyond maxDepth. Recursive, but never deeper than maxDepth + 1 calls. */
function isClean(value: unknown, depth: number, maxDepth: number): boolean {
  if (typeof value === 'string') return !value.includes(NUL);
  if (value === null || typeof value !== 'object') return true;
  if (depth >= maxDepth) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!isClean(item, depth + 1, maxDepth)) return false;
    return true;
  }
  for (const key of Object.keys(value)) {
    if (key.includes(NUL) || !isClean((value as Record<string, unknown>)[key], depth + 1, maxDepth)) return false;
  }
  return true;
}

/** The first fault with its path (`body/a/1/b`), or null. Iterative: never overflows. */
export function findFault(value: unknown, root: string, maxDepth = MAX_DEPTH): InputFault | null {
  const stack: [unknown, string, number][] = [[value, root, 0]];
  while (stack.length > 0) {
    const [current, at, depth] = stack.pop()!;
    if (typeof current === 'string') {
      if (current.includes(NUL)) return { kind: 'nul', at };
    } else if (current !== null && typeof current === 'object') {
      if (depth >= maxDepth) return { kind: 'depth', at };
      if (Array.isArray(current)) {
        for (let i = current.length - 1; i >= 0; i--) stack.push([current[i], `${at}/${i}`, depth + 1]);
      } else {
        for (const [key, inner] of Object.entries(current)) {
          if (key.includes(NUL)) return { kind: 'nul', at: `${at}/${key.replaceAll(NUL, '\\u0000')}` };
          stack.push([inner, `${at}/${key}`, depth + 1]);
        }
      }
    }
  }
  return null;
}

/** For a raw text body (CSV, NDJSON): the 1-based line of the first NUL, or null. */
export function nulLine(text: string): number | null {
  const at = text.indexOf(NUL);
  if (at < 0) return null;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** The message of a fault, for a problem's detail or an import row error. */
export function faultMessage(fault: InputFault): string {
  return fault.kind === 'nul' ? `${fault.at} contains the NUL character (U+0000), which text cannot hold` : `${fault.at} is nested deeper than ${MAX_DEPTH} levels`;
}
