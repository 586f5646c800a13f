import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { connectDevices, type SimCredential } from '../../cli/src/sim/simulation';
import { createTestDatabase, type TestDatabase } from '../src/testing/test-database';
import { freePort, numberFlags, sleep, UsageMeter } from './support/control-plane-process';
import { IngestLagProbe } from './support/ingest-lag';

/**
 * side-by-side: the same connect + telemetry load through aedes 1.2 (in-process subscription,
 * as in the control plane) and through Debian's Mosquitto (C) with one QoS 1 subscriber; both
 * feed the control plane's TelemetryIngest into PostgreSQL. The control plane itself cannot use
 * an external broker yet, so this compares the broker layer plus the same ingest, in one run.
 */
interface Side {
  name: string;
  mqttUrl: string;
  pids: number[];
  stats(): Promise<{ received: number; stored: number; dropped: number }>;
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, every: 10, duration: 60 });
  console.log(machineLine());
  const rows: Array<Record<string, string | number>> = [];
  for (const name of ['aedes', 'mosquitto'] as const) {
    const db = await scratchDatabase(flags.devices);
    const side = name === 'aedes' ? await aedesSide(db) : await mosquittoSide(db);
    try {
      rows.push(await measure(side, db, flags));
    } finally {
      await side.stop();
      await db.drop();
    }
  }
  printTable(rows);
  const [a, m] = rows as [Record<string, number>, Record<string, number>];
  console.log(
    `ratios aedes/mosquitto: connect time ${(a['connect s']! / m['connect s']!).toFixed(2)}, persisted msg/s ${(a['persisted msg/s']! / m['persisted msg/s']!).toFixed(2)}, lag p99 ${(a['lag p99 ms']! / m['lag p99 ms']!).toFixed(2)}, broker-side CPU ${(a['broker+ingest CPU %']! / m['broker+ingest CPU %']!).toFixed(2)}, broker-side RSS ${(a['broker+ingest RSS MiB']! / m['broker+ingest RSS MiB']!).toFixed(2)}`,
  );
}

async function measure(
  side: Side,
  db: TestDatabase,
  flags: { devices: number; every: number; duration: number },
): Promise<Record<string, string | number>> {
  const creds: SimCredential[] = Array.from({ length: flags.devices }, (_, i) => ({
    deviceId: deviceId(i),
    password: 'unused',
    mqttUrl: side.mqttUrl,
  }));
  const t0 = performance.now();
  const sim = await connectDevices(creds, { telemetryEverySeconds: flags.every, connectConcurrency: 1000, realistic: false });
  const connectS = (performance.now() - t0) / 1000;
  await sleep(flags.every * 1000 + 2000);
  const probe = await IngestLagProbe.start(db.url);
  const meters = side.pids.map((pid) => new UsageMeter(pid).start());
  const sentBefore = sim.counts().telemetrySent;
  const from = Date.now();
  probe.window(from, from + flags.duration * 1000);
  await sleep(flags.duration * 1000);
  const sent = sim.counts().telemetrySent - sentBefore;
  const usage = meters.map((m) => m.stop());
  await sleep(5000);
  await probe.stop();
  const lag = probe.summary();
  const stats = await side.stats();
  if (stats.received === 0) throw new Error(`${side.name}: the ingest received no telemetry (subscription topic?)`);
  await sim.stop();
  return {
    broker: side.name,
    devices: flags.devices,
    'connect s': connectS,
    'sent msg/s': sent / flags.duration,
    'persisted msg/s': probe.rowsInWindow / flags.duration,
    'persisted %': (100 * probe.rowsInWindow) / sent,
    'lag p50 ms': lag.p50,
    'lag p99 ms': lag.p99,
    'broker+ingest CPU %': usage.reduce((n, u) => n + u.cpuPercent, 0),
    'broker+ingest RSS MiB': usage.reduce((n, u) => n + u.peakRssMiB, 0),
    'ingest dropped': stats.dropped,
  };
}

function deviceId(i: number): string {
  return `dev_bench${String(i).padStart(6, '0')}`;
}

async function scratchDatabase(devices: number): Promise<TestDatabase> {
  const db = await createTestDatabase();
  // The two tables TelemetryRepository.copyBatch touches, as the migrations define them.
  await db.query('CREATE TABLE devices (id text PRIMARY KEY)');
  await db.query(`CREATE TABLE telemetry_samples (
      id bigserial PRIMARY KEY, device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE, at timestamptz NOT NULL,
      cpu_percent double precision NOT NULL, mem_used_bytes bigint NOT NULL, mem_total_bytes bigint NOT NULL, temperature_c double precision)`);
  await db.query('CREATE INDEX telemetry_samples_device_at_idx ON telemetry_samples (device_id, at DESC)');
  await db.query('CREATE INDEX telemetry_samples_at_idx ON telemetry_samples (at)');
  await db.query('INSERT INTO devices (id) SELECT $1 || lpad(g::text, 6, $2) FROM generate_series(0, $3 - 1) g', [
    'dev_bench',
    '0',
    devices,
  ]);
  return db;
}

function host(args: string[]): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'support', 'broker-host.ts'), args, {
    cwd: ROOT,
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`broker host exited (${code})`)));
    child.once('message', () => resolve(child));
  });
}

function askStats(child: ChildProcess): Promise<{ received: number; stored: number; dropped: number }> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as { received: number; stored: number; dropped: number }));
    child.send('stats');
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

async function aedesSide(db: TestDatabase): Promise<Side> {
  const port = await freePort();
  const child = await host(['aedes', String(port), db.url]);
  return {
    name: 'aedes 1.2 (in-process ingest)',
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    pids: [child.pid!],
    stats: () => askStats(child),
    stop: () => kill(child),
  };
}

async function mosquittoSide(db: TestDatabase): Promise<Side> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // Queues big enough that Mosquitto does not drop for the one subscriber during the run.
  await writeFile(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\nmax_queued_messages 1000000\nmax_inflight_messages 1000\npersistence false\nlog_dest none\n`,
  );
  const mosquitto = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  await sleep(500);
  if (mosquitto.exitCode !== null) throw new Error('mosquitto did not start');
  const url = `mqtt://127.0.0.1:${port}`;
  const child = await host(['subscriber', url, db.url]);
  return {
    name: 'mosquitto 2 + 1 subscriber',
    mqttUrl: url,
    pids: [mosquitto.pid!, child.pid!],
    stats: () => askStats(child),
    stop: async () => {
      await kill(child);
      await kill(mosquitto);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

runBench(main);
