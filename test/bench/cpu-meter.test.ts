import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { startCpuMeter } from '../../bench/lib/cpu-meter.ts';

/** Spins until this process has used `ms` more of CPU time: CPU, not wall time, so a busy machine only makes it slower. */
const spin = (ms: number) => {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return x;
  }
};

// The stand-in for the Laurel process: spins for 400 ms of its own CPU, says so, then idles.
const CHILD = `const s = process.cpuUsage(); let x = 0;
for (;;) { for (let i = 0; i < 10000; i++) x += Math.sqrt(x + i); const u = process.cpuUsage(s); if ((u.user + u.system) / 1000 >= 400) break; }
process.stdout.write('spun ' + x + '\\n'); setTimeout(() => {}, 30000);`;

describe.runIf(existsSync('/proc/stat'))('the benchmark CPU meter', () => {
  it('charges a busy child process to Laurel and this process’s own work to the load generator', async () => {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const spun = new Promise((resolve) => child.stdout!.once('data', resolve));
      const meter = startCpuMeter(child.pid)!;
      spin(200);
      await spun;
      const use = meter.stop(10)!;
      // Per event of 10: the child's ≈ 400 ms (and its start) is ≈ 40,000 µs, this process's 200 ms ≈ 20,000 µs.
      expect(use.laurelUsPerEvent).toBeGreaterThan(25_000);
      expect(use.laurelUsPerEvent).toBeLessThan(60_000);
      expect(use.benchUsPerEvent).toBeGreaterThan(15_000);
      expect(use.benchUsPerEvent).toBeLessThan(40_000);
      // The machine's busy time holds both (to within a tick per core).
      expect(use.machineUsPerEvent).toBeGreaterThanOrEqual(use.laurelUsPerEvent! + use.benchUsPerEvent - 2_000);
      expect(use.restUsPerEvent).toBeGreaterThanOrEqual(0);
      expect(use.laurelSystemUsPerEvent).toBeGreaterThanOrEqual(0);
      expect(use.laurelSystemUsPerEvent).toBeLessThanOrEqual(use.laurelUsPerEvent!);
      expect(use.idle).toBeGreaterThanOrEqual(0);
      expect(use.idle).toBeLessThan(1);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.runIf(existsSync('/proc/self/schedstat'))('counts the time Laurel waited for a core when more threads want to run than there are cores', async () => {
    // One spinner more than there are cores, Laurel's stand-in among them: every one of them waits its turn.
    const spinners = Array.from({ length: os.availableParallelism() + 1 }, () => spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'ignore'] }));
    try {
      const [child] = spinners;
      const spun = new Promise((resolve) => child!.stdout!.once('data', resolve));
      const meter = startCpuMeter(child!.pid)!;
      await spun;
      const use = meter.stop(1)!;
      // 400 ms of CPU shared fairly among n + 1 threads on n cores: about 400 / n ms of waiting (200 on 2 cores).
      expect(use.laurelWaitUsPerEvent).toBeGreaterThan(400_000 / os.availableParallelism() / 4);
    } finally {
      for (const s of spinners) s.kill('SIGKILL');
    }
  });

  it('reports no wait when nothing waits its turn', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const meter = startCpuMeter(child.pid)!;
      await new Promise((r) => setTimeout(r, 200));
      const use = meter.stop(1)!;
      // Asleep on a timer: at most a stray wake-up of the runtime's own (a spinner above waits 50,000 µs or more).
      expect(use.laurelWaitUsPerEvent).toBeGreaterThanOrEqual(0);
      expect(use.laurelWaitUsPerEvent).toBeLessThan(2_000);
      // Without a Laurel process (the raw ceiling) there is nothing of Laurel's to report, not a 0.
      const none = startCpuMeter(undefined)!.stop(1)!;
      expect(none.laurelWaitUsPerEvent).toBeUndefined();
      expect(none.laurelUsPerEvent).toBeUndefined();
      expect(none.laurelSystemUsPerEvent).toBeUndefined();
      expect(none.machineUsPerEvent).toBeGreaterThanOrEqual(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('gives no figures for a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const meter = startCpuMeter(child.pid)!;
    expect(meter).toBeDefined();
    await exited;
    // Reaped: /proc no longer has it.
    await new Promise((r) => setTimeout(r, 50));
    expect(meter.stop(1)).toBeUndefined();
  });
});
