import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { numberFlags, sleep, waitFor } from './support/control-plane-process';
import { provisionFleet, startCluster, startOneBox, storedSamples, usageOf, type BenchShape } from './support/cluster-shape';
import { IngestLagProbe } from './support/ingest-lag';
import { LoadFleet } from './support/load-fleet';

/**
 * cluster (issue #14): the same load on the one-box shape (one control plane, embedded aedes) and
 * on the cluster shape (3 replicas, 3 RabbitMQ nodes, HAProxy; support/cluster-shape.ts), one
 * after the other on this machine, and the ratio cluster / one box:
 *   connect storm  N registered devices connect (multi-process load generator) and each gets its desired state;
 *   telemetry      `rate` samples/s (each device one every N/rate s, from its connect on) for `window` s:
 *                  lag p99 from a sample's time to its row; at the end, samples sent in the whole run vs rows stored;
 *   fan-out        a new target release: until every device received its desired state;
 *   disruption     one box: its control plane restarted (SIGTERM, start); cluster: one RabbitMQ node
 *                  killed (SIGKILL; its devices reconnect through HAProxy to the others): until every
 *                  device is connected again.
 * CPU seconds and RSS are the server side's (control planes, broker nodes, HAProxy), read from /proc.
 * Usage: npm run bench -- cluster [--devices 10000] [--rate 5000] [--window 30] [--processes 2] [--concurrency 500]
 */
type Flags = { devices: number; rate: number; window: number; processes: number; concurrency: number };
type Row = Record<string, string | number>;

/** The telemetry quota (DEFAULT_QUOTAS: 120 a minute) allows one sample per device every 0.5 s. */
const MIN_EVERY_S = 0.5;
const PHASE_TIMEOUT_MS = 600_000;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, rate: 5000, window: 30, processes: 2, concurrency: 500 });
  const every = Math.max(MIN_EVERY_S, flags.devices / flags.rate);
  console.log(machineLine());
  console.log(
    `${flags.devices} devices, telemetry one sample per device every ${every} s (${(flags.devices / every).toFixed(0)} samples/s offered) for ${flags.window} s`,
  );
  const rows: Row[] = [];
  for (const start of [startOneBox, () => startCluster(flags.devices)]) {
    const shape = await start();
    try {
      rows.push(await measure(shape, flags, every));
      console.log(JSON.stringify(rows.at(-1)));
    } finally {
      await shape.close();
    }
  }
  printTable([...rows, ratios(rows[1]!, rows[0]!)]);
  console.log('ratio row: cluster / one box (times, lag, CPU, RSS: lower is better; the #14 target is ≤ 1.5)');
}

async function measure(shape: BenchShape, flags: Flags, every: number): Promise<Row> {
  const fleet = await provisionFleet(shape, flags.devices);
  const n = fleet.creds.length;
  const sim = await LoadFleet.start(fleet.creds, flags.processes);
  try {
    const all = () => [...shape.pids().controlPlanes, ...shape.pids().brokers];
    const idle = usageOf(all());
    console.log(`${shape.label}: connecting ${n} devices…`);
    const t0 = performance.now();
    await sim.connect({ telemetryEverySeconds: every, applySeconds: 0.5, connectConcurrency: flags.concurrency, realistic: false });
    await waitFor(async () => (await sim.counts()).desiredReceived >= n, PHASE_TIMEOUT_MS, 'every device holding its desired state', 250);
    const connectS = (performance.now() - t0) / 1000;
    const stormed = usageOf(all());

    console.log(`${shape.label}: telemetry for ${flags.window} s…`);
    const probe = await IngestLagProbe.start(shape.primary.db.url);
    const sentBefore = (await sim.counts()).telemetrySent;
    const from = Date.now();
    probe.window(from, from + flags.window * 1000);
    const cpuFrom = usageOf(all()).cpuSeconds;
    await sleep(flags.window * 1000);
    const windowCpu = usageOf(all()).cpuSeconds - cpuFrom;
    const sent = (await sim.counts()).telemetrySent - sentBefore;
    // Until the window's last samples land (5 s past it), plus one poll.
    await sleep(5000);
    await probe.stop();
    const lag = probe.summary();

    console.log(`${shape.label}: fan-out of a new release…`);
    const desiredBefore = (await sim.counts()).desiredReceived;
    const t1 = performance.now();
    await fleet.target('2.0.0');
    await waitFor(
      async () => (await sim.counts()).desiredReceived >= desiredBefore + n,
      PHASE_TIMEOUT_MS,
      'every device received 2.0.0',
      250,
    );
    const fanoutS = (performance.now() - t1) / 1000;

    const disruption = shape.killBrokerNode ? 'node killed' : 'restart';
    console.log(`${shape.label}: ${disruption}…`);
    const dropsBefore = (await sim.counts()).disconnects;
    const t2 = performance.now();
    if (shape.killBrokerNode) await shape.killBrokerNode();
    else {
      await shape.primary.stop();
      await shape.primary.launch();
    }
    let back = 'all';
    try {
      await waitFor(async () => (await sim.counts()).disconnects > dropsBefore, 30_000, 'a device noticing', 100);
      await waitFor(async () => (await sim.counts()).connected >= n, PHASE_TIMEOUT_MS, 'every device connected again', 250);
    } catch (e) {
      back = `${(await sim.counts()).connected}/${n} (${(e as Error).message})`;
    }
    const reconnectS = (performance.now() - t2) / 1000;
    const dropped = (await sim.counts()).disconnects - dropsBefore;

    // Every sample sent in the whole run (storm, window, fan-out, disruption) against the rows stored.
    await sim.stopTelemetry();
    const sentAll = (await sim.counts()).telemetrySent;
    let stored = 0;
    await waitFor(async () => (stored = await storedSamples(shape)) >= sentAll, 60_000, 'every sample stored', 500).catch(() => undefined);
    const rssCp = usageOf(shape.pids().controlPlanes).rssMiB;
    return {
      shape: shape.label,
      devices: n,
      'connect+desired s': connectS,
      'storm CPU s': stormed.cpuSeconds - idle.cpuSeconds,
      'RSS connected MiB': stormed.rssMiB,
      'KiB/device': ((stormed.rssMiB - idle.rssMiB) * 1024) / n,
      'samples/s': sent / flags.window,
      'lag p99 ms': lag.p99,
      'server CPU %': (100 * windowCpu) / flags.window,
      'CPU ms/sample': (1000 * windowCpu) / Math.max(1, probe.rowsInWindow),
      'fan-out s': fanoutS,
      disruption,
      'devices dropped': dropped,
      'all back s': reconnectS,
      back,
      // More rows than samples: QoS 1 redeliveries stored twice.
      'rows stored / samples sent (run)': `${stored}/${sentAll}`,
      'cp RSS MiB': rssCp,
    };
  } finally {
    await sim.stop();
  }
}

function ratios(cluster: Row, box: Row): Row {
  const out: Row = { shape: 'cluster / one box' };
  const keys = [
    'connect+desired s',
    'storm CPU s',
    'RSS connected MiB',
    'KiB/device',
    'lag p99 ms',
    'server CPU %',
    'CPU ms/sample',
    'fan-out s',
    'all back s',
  ];
  for (const key of keys) {
    const [a, b] = [cluster[key], box[key]];
    out[key] = typeof a === 'number' && typeof b === 'number' && b !== 0 ? `${(a / b).toFixed(2)}×` : '';
  }
  return out;
}

runBench(main);
