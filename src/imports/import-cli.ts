import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Db } from '../db/database.ts';
import { importAdjustments, type AdjustmentImportReport } from './adjustment-import.ts';
import { fileChunks, formatOfPath, hashFile, type ImportFormat } from './import-source.ts';
import { exportMembers } from './member-export.ts';
import { importMembers, type MemberImportReport } from './member-import.ts';

/** The operator's side of imports and exports: `npm run laurel -- import:members …` (see docs/operations.md). */

export interface ImportFlags {
  program?: string;
  file?: string;
  format?: string;
  'batch-key'?: string;
  'skip-invalid'?: boolean;
  'dry-run'?: boolean;
  out?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function requireProgram(flags: ImportFlags): string {
  if (!flags.program || !UUID.test(flags.program)) throw new Error('--program <program id> is required (npm run laurel -- programs:list)');
  return flags.program;
}

function formatOf(flags: ImportFlags, path?: string): ImportFormat {
  if (flags.format === 'csv' || flags.format === 'ndjson') return flags.format;
  if (flags.format) throw new Error('--format must be csv or ndjson');
  const guessed = path ? formatOfPath(path) : undefined;
  if (!guessed) throw new Error('say --format csv or --format ndjson (or name the file .csv, .ndjson or .jsonl)');
  return guessed;
}

export async function importCommand(db: Db, kind: 'members' | 'adjustments', flags: ImportFlags, say: (line?: string) => void): Promise<boolean> {
  const programId = requireProgram(flags);
  if (!flags.file) throw new Error('--file <path> is required');
  const format = formatOf(flags, flags.file);
  const started = performance.now();
  const input = {
    programId, actor: 'cli', format, source: fileChunks(flags.file), contentHash: await hashFile(flags.file), batchKey: flags['batch-key'],
    onInvalid: flags['skip-invalid'] ? ('skip' as const) : ('reject' as const), dryRun: flags['dry-run'] ?? false,
    onProgress: (rows: number) => process.stderr.write(`\r${rows.toLocaleString('en-US')} rows read…`),
  };
  const report: MemberImportReport | AdjustmentImportReport = kind === 'members' ? await importMembers(db, input) : await importAdjustments(db, input);
  process.stderr.write('\n');
  const seconds = (performance.now() - started) / 1000;
  say(`${report.status.toUpperCase()}${report.replayed ? ' (already imported: this file under this batch key; nothing changed)' : ''}  ${kind} import of ${flags.file}`);
  say(`  batch key   ${report.batchKey}${report.batchId ? `   (import ${report.batchId})` : ''}`);
  say(`  rows        ${report.rows.total} read, ${report.rows.valid} valid, ${report.rows.invalid} invalid   (${seconds.toFixed(1)} s)`);
  if ('members' in report) {
    say(`  members     ${report.members.created} created, ${report.members.updated} updated, ${report.members.unchanged} unchanged`);
    say(`  balances    ${report.balances.applied} applied (${report.balances.points} points), ${report.balances.alreadyImported} already imported under this batch key`);
  } else {
    say(`  adjustments ${report.adjustments.applied} applied (+${report.adjustments.pointsAdded} / -${report.adjustments.pointsRemoved} points), ${report.adjustments.alreadyApplied} already applied under this batch key`);
  }
  if (report.errorCount > 0) {
    say(`  problems    ${report.errorCount}${report.status === 'rejected' ? ' — nothing was imported (fix the file, or re-run with --skip-invalid to import the valid rows)' : ' — those rows were skipped'}`);
    for (const e of report.errors.slice(0, 50)) say(`    line ${e.line}${e.customerId ? ` (${e.customerId})` : ''}${e.field ? ` ${e.field}` : ''}: ${e.code}: ${e.message}`);
    if (report.errorCount > 50) say(`    … ${report.errorCount - 50} more (GET /v1/imports lists the full report of each run)`);
  }
  if (report.status === 'dry_run') say('  dry run: everything was checked and rolled back; nothing changed');
  return report.status !== 'rejected';
}

async function write(out: Writable, text: string) {
  if (!out.write(text)) await once(out, 'drain');
}

export async function exportCommand(db: Db, flags: ImportFlags, say: (line?: string) => void) {
  const programId = requireProgram(flags);
  const format = flags.format ? formatOf(flags) : flags.out ? formatOf(flags, flags.out) : 'csv';
  const out: Writable = flags.out ? createWriteStream(flags.out) : process.stdout;
  let bytes = 0;
  for await (const chunk of exportMembers(db, { programId, format })) {
    bytes += Buffer.byteLength(chunk);
    await write(out, chunk);
  }
  if (flags.out) {
    out.end();
    await once(out, 'finish');
    say(`exported to ${flags.out} (${(bytes / 1_048_576).toFixed(1)} MiB, ${format})`);
  }
}
