import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './control-plane-process';

const run = promisify(execFile);
/** Debian's PostgreSQL, the one test/setup/ensure-services.sh runs for the tests. */
const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface DurablePostgres {
  /** Server URL (maintenance database), for `createTestDatabase`. */
  url: string;
  /** CPU seconds (user + system) the cluster has used so far: the postmaster, its live backends and those it has reaped. */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A second PostgreSQL cluster with the server's default, durable settings (`fsync=on`,
 * `synchronous_commit=on`, `full_page_writes=on`), unlike the tests' server, which runs with
 * them off. Throwaway: its data directory is removed at `stop`. Needs root (it runs as `postgres`).
 */
export async function startDurablePostgres(): Promise<DurablePostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-durable-pg-'));
  const data = join(dir, 'data');
  const { stdout } = await run('id', ['-u', 'postgres']);
  const uid = Number(stdout.trim());
  await chmod(dir, 0o755);
  await chown(dir, uid, uid);
  const asPostgres = (cmd: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args]);
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const port = await freePort();
  await asPostgres('pg_ctl', [
    '-D',
    data,
    '-l',
    join(dir, 'postgres.log'),
    '-w',
    '-t',
    '60',
    '-o',
    // track_commit_timestamp: the telemetry benches read each row's commit time (ingest-lag.ts); durability is unchanged.
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c track_commit_timestamp=on`,
    'start',
  ]);
  const postmaster = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    cpuSeconds: () => clusterCpuSeconds(postmaster),
    async stop() {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const TICKS_PER_SECOND = 100;

/** From /proc/PID/stat: utime, stime (and for the postmaster cutime, cstime: backends that have exited). */
async function clusterCpuSeconds(postmaster: number): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces): state is field 3, ppid 4, utime 14 … cstime 17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    if (pid === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS_PER_SECOND;
}
