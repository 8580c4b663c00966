import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import baseSetup from '../global-setup.ts';
import type { Summary } from './harness.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    chaosSummaryFile: string;
  }
}

/** The regular test cluster and template, plus the suite's closing summary of every file's figures. */
export default async function setup(project: TestProject) {
  const file = path.join(os.tmpdir(), `laurel-chaos-summary-${process.pid}.ndjson`);
  writeFileSync(file, '');
  project.provide('chaosSummaryFile', file);
  const teardown = await baseSetup(project);
  return async () => {
    const summaries = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Summary);
    rmSync(file, { force: true });
    const total = (k: 'requestsSent' | 'acknowledged' | 'retriedAfterFailure' | 'effectsChecked' | 'invariantChecks') => summaries.reduce((s, x) => s + x[k], 0);
    const rows = [
      ['suite', 'sent', 'acknowledged', 'retried', 'effects checked', 'invariant checks', 'failures'],
      ...summaries.map((s) => [s.suite, s.requestsSent, s.acknowledged, s.retriedAfterFailure, s.effectsChecked, s.invariantChecks, s.failures.length].map(String)),
      ['total', total('requestsSent'), total('acknowledged'), total('retriedAfterFailure'), total('effectsChecked'), total('invariantChecks'), summaries.reduce((s, x) => s + x.failures.length, 0)].map(String),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    process.stdout.write(`\nReliability suite summary\n${rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n')}\n`);
    for (const s of summaries) for (const n of s.notes) process.stdout.write(`  ${s.suite}: ${n}\n`);
    for (const s of summaries) for (const f of s.failures.slice(0, 20)) process.stdout.write(`  FAILURE ${s.suite}: ${f}\n`);
    await teardown();
  };
}
