/**
 * RFC 4180 CSV, streamed: chunks go in, complete records come out with the physical line they
 * start on (what a spreadsheet or editor shows), so every error can name its line. Fields may be
 * quoted ("a ""b"", c"), contain commas and newlines; CRLF and LF both end a record; a UTF-8 BOM
 * is dropped. Malformed input becomes an error record, never a thrown exception.
 */
export type CsvRecord = { line: number; fields: string[]; error?: undefined } | { line: number; fields?: undefined; error: string };

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

/** A quoted field longer than this is almost certainly a missing closing quote. */
export const MAX_FIELD_CHARS = 65_536;

export class CsvParser {
  private field = '';
  private fields: string[] = [];
  private inQuotes = false;
  /** After a closing quote: only a comma or a line end may follow. */
  private afterQuote = false;
  private fieldStarted = false;
  private line = 1;
  private recordLine = 1;
  private broken: string | undefined;
  private pendingCr = false;
  private first = true;

  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let text = chunk;
    if (this.first) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === LF) {
          i++;
          continue;
        }
      }
      if (this.inQuotes) {
        // Copy everything up to the next quote in one slice.
        const q = text.indexOf('"', i);
        const stop = q === -1 ? n : q;
        const piece = text.slice(i, stop);
        for (let k = piece.indexOf('\n'); k !== -1; k = piece.indexOf('\n', k + 1)) this.line++;
        this.field += piece;
        if (this.field.length > MAX_FIELD_CHARS && !this.broken) this.broken = `a quoted field is longer than ${MAX_FIELD_CHARS} characters (missing closing quote?)`;
        if (this.broken && this.field.length > MAX_FIELD_CHARS) this.field = '';
        if (q === -1) return out;
        // A quote: either an escaped quote ("") or the closing one. The next char may be in the next chunk.
        if (q + 1 >= n) {
          // Decide on the next push: remember that we saw a quote at the very end.
          this.inQuotes = false;
          this.afterQuote = true;
          this.maybeEscaped = true;
          return out;
        }
        if (text.charCodeAt(q + 1) === QUOTE) {
          this.field += '"';
          i = q + 2;
          continue;
        }
        this.inQuotes = false;
        this.afterQuote = true;
        i = q + 1;
        continue;
      }
      if (this.maybeEscaped) {
        this.maybeEscaped = false;
        if (c === QUOTE) {
          this.field += '"';
          this.inQuotes = true;
          this.afterQuote = false;
          i++;
          continue;
        }
      }
      if (c === COMMA) {
        this.endField();
        i++;
        continue;
      }
      if (c === LF || c === CR) {
        this.endField();
        out.push(this.endRecord());
        this.line++;
        this.recordLine = this.line;
        if (c === CR) this.pendingCr = true;
        i++;
        continue;
      }
      if (this.afterQuote) {
        if (!this.broken) this.broken = 'unexpected character after a closing quote';
        i++;
        continue;
      }
      if (c === QUOTE && !this.fieldStarted) {
        this.inQuotes = true;
        this.fieldStarted = true;
        i++;
        continue;
      }
      // Unquoted run: copy up to the next delimiter in one slice.
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === COMMA || d === LF || d === CR) break;
        j++;
      }
      this.field += text.slice(i, j);
      this.fieldStarted = true;
      if (this.field.length > MAX_FIELD_CHARS && !this.broken) {
        this.broken = `a field is longer than ${MAX_FIELD_CHARS} characters`;
        this.field = '';
      }
      i = j;
    }
    return out;
  }

  private maybeEscaped = false;

  end(): CsvRecord[] {
    if (this.inQuotes) {
      const line = this.recordLine;
      this.reset();
      return [{ line, error: 'the file ends inside a quoted field (missing closing quote)' }];
    }
    this.maybeEscaped = false;
    if (this.fieldStarted || this.fields.length > 0 || this.afterQuote) {
      this.endField();
      return [this.endRecord()];
    }
    return [];
  }

  private endField() {
    this.fields.push(this.field);
    this.field = '';
    this.fieldStarted = false;
    this.afterQuote = false;
    this.maybeEscaped = false;
  }

  private endRecord(): CsvRecord {
    const record: CsvRecord = this.broken ? { line: this.recordLine, error: this.broken } : { line: this.recordLine, fields: this.fields };
    this.reset();
    return record;
  }

  private reset() {
    this.fields = [];
    this.field = '';
    this.broken = undefined;
    this.inQuotes = false;
    this.afterQuote = false;
    this.fieldStarted = false;
    this.maybeEscaped = false;
  }
}

/** A record with one empty field is a blank line: skipped, not an error. */
export function isBlankRecord(record: CsvRecord): boolean {
  return record.fields !== undefined && record.fields.length === 1 && record.fields[0]!.trim() === '';
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV line (with its CRLF, as RFC 4180 asks). null and undefined are empty fields. */
export function csvLine(values: readonly (string | number | boolean | null | undefined)[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) continue;
    const s = String(v);
    out += NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }
  return `${out}\r\n`;
}
