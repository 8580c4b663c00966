import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CsvParser, isBlankRecord, type CsvRecord } from './csv.ts';

export type ImportFormat = 'csv' | 'ndjson';

/** A longer NDJSON line is refused rather than buffered without end. */
export const MAX_LINE_CHARS = 1_048_576;

/** UTF-8 text from bytes or strings, never splitting a multi-byte character between chunks. */
export async function* textChunks(source: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** CSV records with their line numbers; blank lines are skipped. */
export async function* csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser();
  for await (const chunk of chunks) {
    for (const record of parser.push(chunk)) if (!isBlankRecord(record)) yield record;
  }
  for (const record of parser.end()) if (!isBlankRecord(record)) yield record;
}

export type JsonLine = { line: number; text: string; error?: undefined } | { line: number; text?: undefined; error: string };

/** NDJSON lines (LF or CRLF) with their line numbers; blank lines are skipped. */
export async function* ndjsonLines(chunks: AsyncIterable<string>): AsyncGenerator<JsonLine> {
  let carry = '';
  let line = 0;
  let first = true;
  let oversized = false;
  for await (let chunk of chunks) {
    if (first) {
      first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      line++;
      const text = (carry + chunk.slice(start, nl)).replace(/\r$/, '');
      carry = '';
      start = nl + 1;
      if (oversized) {
        oversized = false;
        yield { line, error: `line longer than ${MAX_LINE_CHARS} characters` };
      } else if (text.trim() !== '') yield { line, text };
    }
    if (!oversized) carry += chunk.slice(start);
    if (carry.length > MAX_LINE_CHARS) {
      oversized = true;
      carry = '';
    }
  }
  if (oversized) yield { line: line + 1, error: `line longer than ${MAX_LINE_CHARS} characters` };
  else if (carry.trim() !== '') yield { line: line + 1, text: carry.replace(/\r$/, '') };
}

export function fileChunks(path: string): AsyncIterable<Buffer> {
  return createReadStream(path, { highWaterMark: 1 << 20 });
}

/** sha256 of a file's bytes: the default batch key, so re-running the same file changes nothing. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fileChunks(path)) hash.update(chunk);
  return hash.digest('hex');
}

export function hashText(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export function formatOfPath(path: string): ImportFormat | undefined {
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.(ndjson|jsonl)$/i.test(path)) return 'ndjson';
  return undefined;
}
