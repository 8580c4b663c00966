import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GcTrace, gcPerEvent, parseTraceGcLine, sumGc } from '../../bench/lib/gc-trace.ts';

// Lines as Node 20's V8 prints them with --trace-gc.
const SCAVENGE = '[3377:0x25df2fb0]    16138 ms: Scavenge 60.8 (96.4) -> 50.5 (96.4) MB, 6.68 / 0.23 ms  (average mu = 0.944, current mu = 0.942) task; ';
const FULL = '[3377:0x25df2fb0]     8086 ms: Mark-Compact 72.8 (98.1) -> 48.0 (96.1) MB, 15.27 / 0.32 ms  (+ 71.2 ms in 507 steps since start of marking, biggest step 4.3 ms, walltime since start of marking 145 ms) (average mu = 0.944, current mu = 0.942) finalize incremental marking via task; GC in old space requested';
const REDUCING = '[3377:0x25df2fb0]    20120 ms: Mark-Compact (reduce) 60.2 (99.6) -> 41.3 (70.1) MB, 31.02 / 0.02 ms  (average mu = 0.950, current mu = 0.931) memory reducer; GC in old space requested';
const OTHER = '[3377:0x25df2fb0]    20200 ms: Minor Mark-Sweep 41.3 (70.1) -> 40.9 (70.1) MB, 2.50 / 0.00 ms  (average mu = 0.950, current mu = 0.931) task; ';
const FULL_WITHOUT_STEPS = '[32383:0x74dbdb0]      203 ms: Mark-Compact 24.7 (43.8) -> 20.9 (56.6) MB, 19.57 / 0.01 ms  (average mu = 1.000, current mu = 1.000) allocation failure; GC in old space requested';

describe('the --trace-gc reader', () => {
  it('reads a scavenge’s pause and a full collection’s pause with its incremental marking steps', () => {
    expect(parseTraceGcLine(SCAVENGE)).toEqual({ kind: 'scavenge', pauseMs: 6.68, incrementalMs: 0 });
    expect(parseTraceGcLine(FULL)).toEqual({ kind: 'full', pauseMs: 15.27, incrementalMs: 71.2 });
    expect(parseTraceGcLine(FULL_WITHOUT_STEPS)).toEqual({ kind: 'full', pauseMs: 19.57, incrementalMs: 0 });
    expect(parseTraceGcLine(REDUCING)).toEqual({ kind: 'full', pauseMs: 31.02, incrementalMs: 0 });
    // A kind this reader does not name is still time on the thread.
    expect(sumGc([parseTraceGcLine(OTHER)!])).toEqual({ scavenges: 0, scavengeMs: 0, fullCollections: 0, fullMs: 0, totalMs: 2.5 });
    expect(parseTraceGcLine('SERVER_READY 41234')).toBeUndefined();
    expect(parseTraceGcLine('{"level":30,"msg":"Server listening at http://127.0.0.1:3000 ms: Scavenge"}')).toBeUndefined();
  });

  it('sums by kind, and counts only what came after a mark, lines split across chunks included', () => {
    const trace = new GcTrace();
    trace.push(`${SCAVENGE}\nSERVER_READY 1\n`);
    const mark = trace.mark();
    trace.push(FULL.slice(0, 40));
    trace.push(`${FULL.slice(40)}\n${SCAVENGE.slice(0, 10)}`);
    expect(trace.since(mark)).toEqual({ scavenges: 0, scavengeMs: 0, fullCollections: 1, fullMs: 15.27 + 71.2, totalMs: 15.27 + 71.2 });
    trace.push(`${SCAVENGE.slice(10)}\n`);
    const use = trace.since(mark);
    expect(use.scavenges).toBe(1);
    expect(use.totalMs).toBeCloseTo(15.27 + 71.2 + 6.68, 6);
    expect(trace.since(0).scavenges).toBe(2);
    expect(sumGc([])).toEqual({ scavenges: 0, scavengeMs: 0, fullCollections: 0, fullMs: 0, totalMs: 0 });
  });

  it('gives a phase\'s collections per event answered, and nothing per event for a phase that answered none', () => {
    const use = sumGc([parseTraceGcLine(SCAVENGE)!, parseTraceGcLine(FULL)!]);
    const per = gcPerEvent(use, 100);
    expect(per.scavengeUsPerEvent).toBeCloseTo(66.8, 6);
    expect(per.fullUsPerEvent).toBeCloseTo(864.7, 6);
    expect(per.usPerEvent).toBeCloseTo(66.8 + 864.7, 6);
    expect([per.scavenges, per.fullCollections]).toEqual([1, 1]);
    expect(gcPerEvent(use, 0).usPerEvent).toBeNaN();
  });

  it('reads every collection this Node prints', async () => {
    // Garbage with some of it kept for a while: scavenges, and full collections once the old generation fills.
    const script = 'let keep = []; const t0 = Date.now(); while (Date.now() - t0 < 800) { for (let i = 0; i < 10000; i++) { const o = { a: [i, String(i)] }; if (i % 20 === 0) keep.push(o); } if (keep.length > 300000) keep = []; }';
    const child = spawn(process.execPath, ['--trace-gc', '--max-old-space-size=64', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const trace = new GcTrace();
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      trace.push(chunk.toString());
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const printed = text.split('\n').filter((line) => / ms: (Scavenge|Mark-Compact)/.test(line));
    const use = trace.since(0);
    expect(printed.length).toBeGreaterThan(0);
    // A format this reader does not know would leave collections out: every one printed is read.
    expect(use.scavenges + use.fullCollections).toBe(printed.length);
    expect(use.scavenges).toBeGreaterThan(0);
    expect(use.totalMs).toBeGreaterThan(0);
  });
});
