import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GcTrace } from './gc-trace.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The Node flags `npm start` runs with (package.json: the heap cap, the garbage collector on the
 * main thread), read from there, so that what is measured and crashed here is the process the
 * product runs.
 */
const START_FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start as string)
  .split(/\s+/).filter((arg) => arg.startsWith('--') && arg !== '--import');

export interface LaurelProcess {
  pid: number;
  port: number;
  child: ChildProcess;
  /** Resident memory now and at its peak (VmHWM), in bytes, from /proc. */
  memory(): { rssBytes: number; peakRssBytes: number };
  /** SIGKILL: no shutdown code runs, in-flight requests are cut. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<void>;
  output(): string;
  /** Its garbage collections, when started with `traceGc`. */
  gc?: GcTrace;
}

function procStatus(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line ? Number(line.split(/\s+/)[1]) * 1024 : 0;
}

export interface ServerOptions {
  databaseUrl: string; port?: number; env?: Record<string, string>; preload?: string[]; timeoutMs?: number; nodeArgs?: string[];
  /** Runs it with `--trace-gc` and reads its collections from its output (bench/lib/gc-trace.ts). */
  traceGc?: boolean;
}

/**
 * Starts bench/laurel-server.ts as a child process on a database and waits until it listens.
 * `preload` modules are loaded before Laurel (e.g. a skewed clock); `port` 0 takes any free port.
 */
export function startLaurel(options: ServerOptions): Promise<LaurelProcess> {
  return startServer('bench/laurel-server.ts', options);
}

/**
 * Starts bench/bare-server.ts the same way: Fastify and node-postgres with none of Laurel's code,
 * the benchmark's reference for what a request costs without Laurel.
 */
export function startBareServer(options: ServerOptions): Promise<LaurelProcess> {
  return startServer('bench/bare-server.ts', options);
}

/** A server script of bench/ as a child process with `npm start`'s Node flags; it prints "SERVER_READY <port>". */
async function startServer(script: string, options: ServerOptions): Promise<LaurelProcess> {
  const args = [...START_FLAGS, ...(options.traceGc ? ['--trace-gc'] : []), ...(options.nodeArgs ?? []), '--import', 'tsx', ...(options.preload ?? []).flatMap((p) => ['--import', p]), path.join(ROOT, script)];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // LAUREL_WORKER is not inherited: a worker runs only when a caller asks for one in `env`, so a
    // value exported in the shell cannot add background jobs to the benchmark's measurements.
    env: { ...process.env, LOG_LEVEL: 'warn', LAUREL_WORKER: 'off', ...options.env, DATABASE_URL: options.databaseUrl, PORT: String(options.port ?? 0) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const remember = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-400_000);
  };
  child.stderr!.on('data', remember);
  const gc = options.traceGc ? new GcTrace() : undefined;
  if (gc) child.stdout!.on('data', (chunk: Buffer) => gc.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${options.timeoutMs ?? 60_000} ms:\n${log}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      remember(chunk);
      const match = /SERVER_READY (\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before listening (${code ?? signal}):\n${log}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    pid: child.pid!,
    port,
    child,
    memory: () => ({ rssBytes: procStatus(child.pid!, 'VmRSS'), peakRssBytes: procStatus(child.pid!, 'VmHWM') }),
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    output: () => log,
    gc,
  };
}
