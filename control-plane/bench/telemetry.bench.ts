import { Client } from 'pg';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { connectDevices, createSimFleet, provisionDevices } from '../../cli/src/sim/simulation';
import { ControlPlaneProcess, metrics, numberFlags, sleep, UsageMeter } from './support/control-plane-process';
import { startDurablePostgres } from './support/durable-postgres';
import { IngestLagProbe } from './support/ingest-lag';
import { nodeArgsFrom } from './support/node-args';

type Flags = { devices: number; every: number; duration: number; durable: number; concurrency: number };
type Row = Record<string, string | number>;

/**
 * telemetry: N devices each send one sample every T s for D s; how many are accepted by the
 * broker edge and persisted in PostgreSQL, and how long from a sample's `at` until its row is
 * visible. Runs on the tests' PostgreSQL (fsync=off) and, with `--durable 1` (the default), again
 * on a second cluster with durable commits, one row each. `--rates A,B,…` sweeps offered rates instead (see `sweep`).
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ratesAt = args.indexOf('--rates');
  const rates = ratesAt >= 0 ? args.splice(ratesAt, 2)[1]!.split(',').map(Number) : [];
  const flags = numberFlags(args, { devices: 10_000, every: 10, duration: 60, durable: 1, concurrency: 1000 });
  console.log(machineLine());
  if (rates.length > 0) return sweep(flags, rates);
  const rows = [{ postgres: 'test server (fsync=off)', ...(await measure(flags)) }];
  if (flags.durable) {
    const durable = await startDurablePostgres();
    try {
      rows.push({ postgres: 'durable (fsync=on, synchronous_commit=on)', ...(await measure(flags, durable.url)) });
    } finally {
      await durable.stop();
    }
  }
  printTable(rows);
}

/**
 * `--rates 2500,5000,10000`: one run per offered rate (samples/s = devices / every), on the durable
 * cluster (the test server with `--durable 0`), each with a fresh control plane and database. The
 * ceiling is the highest rate that stored every accepted sample with lag p99 under 2 s.
 */
async function sweep(flags: Flags, rates: readonly number[]): Promise<void> {
  const durable = flags.durable ? await startDurablePostgres() : undefined;
  const rows: Row[] = [];
  try {
    for (const rate of rates) {
      const row = await measure({ ...flags, every: flags.devices / rate }, durable?.url);
      rows.push({ 'offered /s': rate, postgres: durable ? 'durable' : 'test server', ...row });
      printTable([rows.at(-1)!]);
    }
  } finally {
    await durable?.stop();
  }
  printTable(
    rows.map((r) => ({
      'offered /s': r['offered /s']!,
      'accepted /s': r['accepted msg/s']!,
      'stored/accepted %': r['run stored %']!,
      'lag p99 ms': r['lag p99 ms']!,
      'dropped rows': r['dropped rows']!,
      'cp CPU %': r['cp CPU %']!,
    })),
  );
  const held = rows.filter((r) => Number(r['run stored %']) >= 100 && Number(r['lag p99 ms']) < 2000).map((r) => Number(r['offered /s']));
  console.log(
    `ceiling (100 % stored, lag p99 < 2 s): ${held.length > 0 ? `${Math.max(...held)} samples/s of those tried` : 'below every rate tried'}`,
  );
}

async function measure(flags: Flags, databaseServerUrl?: string): Promise<Row> {
  const cp = await ControlPlaneProcess.start({
    nodeArgs: nodeArgsFrom('CP_NODE_ARGS'),
    ...(databaseServerUrl ? { databaseServerUrl } : {}),
  });
  try {
    const fleet = await createSimFleet(cp.httpUrl, cp.apiKey);
    const creds = await provisionDevices({
      apiUrl: cp.httpUrl,
      apiKey: cp.apiKey,
      fleetId: fleet.id,
      count: flags.devices,
      registerConcurrency: 16,
    });
    const sim = await connectDevices(creds, {
      mqttUrl: cp.mqttUrl,
      telemetryEverySeconds: flags.every,
      // Lower it on a loaded machine: connects that wait past their 30 s CONNACK timeout end the run.
      connectConcurrency: flags.concurrency,
      realistic: false,
    });
    console.log(`${sim.counts().connected} devices connected; warming up ${flags.every} s`);
    await sleep(flags.every * 1000 + 2000);

    const probe = await IngestLagProbe.start(cp.db.url);
    const before = await metrics(cp);
    const sentBefore = sim.counts().telemetrySent;
    const usage = new UsageMeter(cp.pid).start();
    const gen = new UsageMeter(process.pid).start();
    const from = Date.now();
    probe.window(from, from + flags.duration * 1000);
    await sleep(flags.duration * 1000);
    const sent = sim.counts().telemetrySent - sentBefore;
    const cpu = usage.stop();
    const genUsage = gen.stop();
    const after = await metrics(cp);
    // Let the window's last samples land before counting them.
    await sleep(5000);
    await probe.stop();
    const lag = probe.summary();
    const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const received = delta('flotilla_telemetry_samples_total{outcome="received"}');
    const rateLimited = delta('flotilla_uplink_messages_dropped_total{reason="rateLimited"}');
    const dropped = delta('flotilla_telemetry_samples_total{outcome="dropped"}');
    const retries = delta('flotilla_telemetry_write_retries_total');
    console.log(
      `sent ${sent} samples in the window, broker edge accepted ${received}, rate-limited ${rateLimited}, rows persisted ${probe.rowsInWindow}, dropped by the writer ${dropped}, write retries ${retries}; lag measured by polling every ${probe.resolutionMs} ms`,
    );
    await sim.stop();
    const whole = await wholeRun(cp);
    return {
      devices: flags.devices,
      'every s': flags.every,
      'window s': flags.duration,
      'offered msg/s': flags.devices / flags.every,
      'sent msg/s': sent / flags.duration,
      'accepted msg/s': received / flags.duration,
      'persisted msg/s': probe.rowsInWindow / flags.duration,
      // Of what the broker edge accepted (the issue's measure); a sample rate-limited or lost before it never reaches the writer.
      'persisted %': ((100 * probe.rowsInWindow) / received).toFixed(3),
      'lag p50 ms': lag.p50,
      'lag p99 ms': lag.p99,
      'lag max ms': lag.max,
      'cp CPU %': cpu.cpuPercent,
      'cp RSS MiB': cpu.peakRssMiB.toFixed(0),
      'gen CPU %': genUsage.cpuPercent,
      'dropped rows': dropped,
      retries,
      'run accepted': whole.accepted,
      'run stored %': ((100 * whole.stored) / whole.accepted).toFixed(3),
    };
  } finally {
    await cp.close();
  }
}

const RECEIVED = 'flotilla_telemetry_samples_total{outcome="received"}';

/**
 * Every sample the control plane accepted since it started against every row stored, once the
 * writer has drained: the window's columns compare counts taken by different clocks (send time,
 * receive time, sample time), so their edges blur a few hundred samples either way; this does not.
 */
async function wholeRun(cp: { httpUrl: string; apiKey: string; db: { url: string } }): Promise<{ accepted: number; stored: number }> {
  const client = new Client({ connectionString: cp.db.url });
  await client.connect();
  try {
    let previous = -1;
    for (;;) {
      const accepted = (await metrics(cp)).get(RECEIVED) ?? 0;
      const stored = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM telemetry_samples')).rows[0]!.n);
      if (stored >= accepted || stored === previous) return { accepted, stored };
      previous = stored;
      await sleep(2000);
    }
  } finally {
    await client.end();
  }
}

runBench(main);
