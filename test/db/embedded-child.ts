// Started as a child process by embedded-recovery.test.ts: starts the embedded PostgreSQL in the
// given folder, reports its port, then waits to be killed with SIGKILL (no clean stop).
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';

const server = await startEmbeddedPostgres({ dataDir: process.argv[2]!, port: Number(process.argv[3]) });
process.stdout.write(`ready ${server.port}\n`);
setInterval(() => {}, 60_000);
