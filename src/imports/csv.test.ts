import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvParser, csvLine, isBlankRecord, type CsvRecord } from './csv.ts';

function parseAll(chunks: string[]): CsvRecord[] {
  const parser = new CsvParser();
  const out: CsvRecord[] = [];
  for (const c of chunks) out.push(...parser.push(c));
  out.push(...parser.end());
  return out;
}

describe('CsvParser', () => {
  it('parses plain, quoted and escaped fields with their line numbers', () => {
    const records = parseAll(['a,b,c\r\n1,"x, y","say ""hi"""\n"multi\nline",2,\n']);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
      { line: 3, fields: ['multi\nline', '2', ''] },
    ]);
  });

  it('drops a BOM and keeps a last record without a newline', () => {
    expect(parseAll(['\ufeffa,b\n1,2'])).toEqual([{ line: 1, fields: ['a', 'b'] }, { line: 2, fields: ['1', '2'] }]);
  });

  it('reports a missing closing quote and junk after a closing quote as error records', () => {
    expect(parseAll(['a\n"open,1\n'])).toEqual([{ line: 1, fields: ['a'] }, { line: 2, error: expect.stringContaining('quoted field') }]);
    const records = parseAll(['"a"x,b\nc,d\n']);
    expect(records[0]).toEqual({ line: 1, error: 'unexpected character after a closing quote' });
    expect(records[1]).toEqual({ line: 2, fields: ['c', 'd'] });
  });

  it('treats a line with nothing on it as blank', () => {
    const records = parseAll(['a\n\nb\n']);
    expect(records.map(isBlankRecord)).toEqual([false, true, false]);
  });

  it('gives the same records however the input is split into chunks (round trip with csvLine)', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '한') , maxLength: 8 });
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(40), { maxLength: 5 }), (rows, cuts) => {
        const text = rows.map((r) => csvLine(r)).join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks: string[] = [];
        let last = 0;
        for (const p of points) {
          chunks.push(text.slice(last, p));
          last = p;
        }
        chunks.push(text.slice(last));
        const parsed = parseAll(chunks);
        expect(parsed.map((r) => r.fields)).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });
});
