/**
 * The load generator of one benchmark phase, as a process of its own: `node --import tsx
 * bench/load-generator.ts <spec.json>` (bench/lib/generator-process.ts starts it). It loads, warms
 * its HTTP client on the server's `GET /health` for a moment, prints GENERATOR_READY, and runs the
 * phase when a line arrives on stdin; then it prints GENERATOR_RESULT and the phase's result as
 * JSON, with the CPU the phase cost this process, and exits.
 *
 * Why not inside the benchmark process: the generator shares the two cores with Laurel and
 * PostgreSQL, and there it cost more per request than in a process of its own (60–65 against
 * 44–52 µs a `GET /health`, with the same client): that process also holds the bench's fixtures and
 * results, an app of its own (statements per request) and its database pool. See
 * docs/benchmarks.md, "The load generator".
 */
import { readFileSync } from 'node:fs';
import type { BenchProgram } from './lib/fixtures.ts';
import { HttpClient } from './lib/http-client.ts';
import { closedLoop, type LoadResult } from './lib/load.ts';
import { rawLedgerWrites, runWorkload, workloadNamed } from './lib/workloads.ts';

/** A phase: a workload through HTTP on a server, or the raw ceiling's writes on a database. */
export type PhaseSpec = { concurrency: number; durationMs: number } & (
  | { kind: 'http'; port: number; workload: string; runId: string }
  | { kind: 'raw'; databaseUrl: string; waitForFlush?: boolean }
);
/** The file the generator reads: the phase, and where its program (BenchProgram) was written. */
export type GeneratorSpec = PhaseSpec & { programFile: string };

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as GeneratorSpec;
const program = JSON.parse(readFileSync(spec.programFile, 'utf8')) as BenchProgram;
const client = spec.kind === 'http' ? new HttpClient(spec.port, spec.concurrency, { authorization: `Bearer ${program.key}` }) : undefined;
if (client) {
  await closedLoop({
    concurrency: spec.concurrency, durationMs: 500,
    work: async () => ({ ok: true, status: String((await client.request({ method: 'GET', path: '/health' })).status) }),
  });
}
process.stdout.write('GENERATOR_READY\n');
// A benchmark that dies before saying go closes this pipe: then there is nothing to measure for.
process.stdin.once('end', () => process.exit(1));
await new Promise((resolve) => process.stdin.once('data', resolve));

const before = process.cpuUsage();
const options = { concurrency: spec.concurrency, durationMs: spec.durationMs };
const result: LoadResult = spec.kind === 'http'
  ? await runWorkload(client!, program, workloadNamed(spec.workload, spec.runId), options)
  : await rawLedgerWrites(spec.databaseUrl, program, { ...options, waitForFlush: spec.waitForFlush });
const used = process.cpuUsage(before);
process.stdout.write(`GENERATOR_RESULT ${JSON.stringify({ ...result, generatorCpuUs: used.user + used.system })}\n`);
client?.close();
process.exit(0);
