import { readFileSync } from 'node:fs';

/** Where a load phase's CPU went, per event answered as expected, in µs of CPU time. */
export interface CpuUse {
  /** Every core's busy time (user, nice, system, irq, softirq), whoever used it. */
  machineUsPerEvent: number;
  /** The Laurel server process. Undefined in a phase without one (the raw ceiling). */
  laurelUsPerEvent?: number;
  /** Of that, time in the kernel (system calls: sockets, epoll). */
  laurelSystemUsPerEvent?: number;
  /**
   * Wall time Laurel's main thread was ready to run but waiting for a core (/proc/<pid>/schedstat):
   * its JavaScript runs on that one thread, so this is time no request of it could advance.
   * Undefined where the kernel does not keep scheduler statistics.
   */
  laurelWaitUsPerEvent?: number;
  /** The load generator: its own process (bench/load-generator.ts), else the benchmark process. */
  benchUsPerEvent: number;
  /** The rest of the machine: PostgreSQL when it runs here, and anything else running. */
  restUsPerEvent: number;
  /** Share of all cores' time that was idle (idle and I/O wait) during the phase, 0–1. */
  idle: number;
}

// /proc reports CPU time in USER_HZ ticks, 100 per second on every Linux architecture Node runs on.
const TICKS_PER_SECOND = 100;

function machineTicks(): { busy: number; idle: number } {
  const [user, nice, system, idle, iowait, irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { busy: user! + nice! + system! + irq! + softirq!, idle: idle! + iowait! };
}

interface ProcessTicks {
  user: number;
  system: number;
  /** Run-queue wait of the main thread, in ns; undefined without scheduler statistics. */
  waitNs?: number;
}

function processTicks(pid: number): ProcessTicks {
  // The command name in parentheses may hold spaces: fields are counted after its closing one.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let waitNs: number | undefined;
  try {
    // /proc/<pid>/schedstat is the thread-group leader's: time on a core, time waiting for one, slices.
    waitNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ')[1]);
  } catch {
    waitNs = undefined;
  }
  return { user: Number(fields[11]), system: Number(fields[12]), waitNs: Number.isFinite(waitNs) ? waitNs : undefined };
}

// A phase without a Laurel process (the raw ceiling): nothing charged to it, and no figures of it reported.
const NO_PROCESS: ProcessTicks = { user: 0, system: 0 };

/**
 * Starts measuring a phase's CPU: the machine's from /proc/stat, Laurel's from /proc/<pid>/stat
 * (and its main thread's wait for a core from /proc/<pid>/schedstat),
 * the load generator's as its process reports it (`generatorUs`), else the benchmark process's own
 * from process.cpuUsage(). `stop(events)` divides each by the events the phase counted. Undefined
 * where /proc is not there (not Linux): the figures are then left out.
 */
export function startCpuMeter(laurelPid: number | undefined): { stop(events: number, generatorUs?: number): CpuUse | undefined } | undefined {
  let machine0: ReturnType<typeof machineTicks>;
  let laurel0: ProcessTicks;
  try {
    machine0 = machineTicks();
    laurel0 = laurelPid === undefined ? NO_PROCESS : processTicks(laurelPid);
  } catch {
    return undefined;
  }
  const bench0 = process.cpuUsage();
  return {
    stop(events, generatorUs) {
      let machine: ReturnType<typeof machineTicks>;
      let laurel1: ProcessTicks;
      try {
        machine = machineTicks();
        laurel1 = laurelPid === undefined ? NO_PROCESS : processTicks(laurelPid);
      } catch {
        return undefined;
      }
      const bench = process.cpuUsage(bench0);
      // With the generator in a process of its own, this process's share (waiting, sampling RSS) falls to the rest.
      const ticksUs = (ticks: number) => (ticks / TICKS_PER_SECOND) * 1e6;
      const busyUs = ticksUs(machine.busy - machine0.busy);
      const idleTicks = machine.idle - machine0.idle;
      const laurelSystemUs = ticksUs(laurel1.system - laurel0.system);
      const laurelUs = ticksUs(laurel1.user - laurel0.user) + laurelSystemUs;
      const waitUs = laurel1.waitNs === undefined || laurel0.waitNs === undefined ? undefined : (laurel1.waitNs - laurel0.waitNs) / 1000;
      const benchUs = generatorUs ?? bench.user + bench.system;
      const per = (us: number) => (events > 0 ? us / events : NaN);
      return {
        machineUsPerEvent: per(busyUs),
        ...(laurelPid === undefined ? {} : { laurelUsPerEvent: per(laurelUs), laurelSystemUsPerEvent: per(laurelSystemUs) }),
        ...(waitUs === undefined ? {} : { laurelWaitUsPerEvent: per(waitUs) }),
        benchUsPerEvent: per(benchUs),
        // Tick-rounded sources: a phase whose others are all but idle may come out a hair below 0.
        restUsPerEvent: per(Math.max(0, busyUs - laurelUs - benchUs)),
        idle: idleTicks / Math.max(1, idleTicks + machine.busy - machine0.busy),
      };
    },
  };
}
