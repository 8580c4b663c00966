import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GeneratorSpec, PhaseSpec } from '../load-generator.ts';
import { startCpuMeter } from './cpu-meter.ts';
import type { BenchProgram } from './fixtures.ts';
import { gcPerEvent, type GcTrace } from './gc-trace.ts';
import type { LoadResult } from './load.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Runs each load phase's generator as a process of its own (bench/load-generator.ts), started
 * fresh for the phase: the benchmark process keeps its fixtures, results and pools out of the
 * generator's way. A phase's CPU is measured from the moment the generator, loaded and warmed,
 * is told to go until it reports, so its start-up is not counted against the server.
 */
export class LoadGenerators {
  private readonly programFiles = new Map<string, string>();
  private phases = 0;
  constructor(private readonly dir: string) {}

  /**
   * One phase; with `meterPid` (Laurel's pid, or null for a phase without Laurel) its CPU is
   * measured as bench/lib/cpu-meter.ts describes, the generator's share as it reports it; with
   * `gc` (the server's trace) also its garbage collections during the phase.
   */
  async run(program: BenchProgram, spec: PhaseSpec, meterPid?: number | null, gc?: GcTrace): Promise<LoadResult> {
    const specFile = path.join(this.dir, `generator-${++this.phases}.json`);
    const file: GeneratorSpec = { ...spec, programFile: await this.programFile(program) };
    await writeFile(specFile, JSON.stringify(file));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/load-generator.ts'), specFile], {
      cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-20_000);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // One listener for the process's life: a line is found in all it has printed so far.
    const pending = new Set<() => void>();
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      for (const check of pending) check();
    });
    const line = (marker: string) => new Promise<string>((resolve, reject) => {
      const check = () => {
        const at = out.indexOf(marker);
        const end = at < 0 ? -1 : out.indexOf('\n', at);
        if (end < 0) return;
        pending.delete(check);
        resolve(out.slice(at + marker.length, end).trim());
      };
      pending.add(check);
      check();
      void exited.then((code) => reject(new Error(`the load generator exited (${code}) before ${marker}:\n${err}`)));
    });
    await line('GENERATOR_READY');
    const meter = meterPid === undefined ? undefined : startCpuMeter(meterPid ?? undefined);
    const gcMark = gc?.mark();
    child.stdin.write('go\n');
    const { generatorCpuUs, ...result } = JSON.parse(await line('GENERATOR_RESULT')) as LoadResult & { generatorCpuUs: number };
    const cpu = meter?.stop(result.ok, generatorCpuUs);
    const collected = gc && gcMark !== undefined ? gcPerEvent(gc.since(gcMark), result.ok) : undefined;
    await exited;
    return { ...result, ...(cpu ? { cpu } : {}), ...(collected ? { gc: collected } : {}) };
  }

  private async programFile(program: BenchProgram): Promise<string> {
    let file = this.programFiles.get(program.id);
    if (!file) {
      file = path.join(this.dir, `program-${program.id}.json`);
      await writeFile(file, JSON.stringify(program));
      this.programFiles.set(program.id, file);
    }
    return file;
  }
}
