import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine, percentile, printTable, runBench } from '../../test/bench/machine';
import { engineVersion, LICENCES, startBroker, treeRssMiB, type EngineName, type RunningBroker } from './support/broker-engines';
import { numberFlags, sleep } from './support/control-plane-process';
import { fanIn, probeClient, Swarm, withTimeout } from './support/mqtt-swarm';

/**
 * brokers: the MQTT engines that could carry Flotilla past one machine, side by side with the
 * one-box baseline (bare aedes, as embedded today, and Mosquitto), each as one node and as a
 * three-node cluster on 127.0.0.1, all with the same load generator in this process:
 *   connect storm   N clients connect and subscribe QoS 1 to their own topic (as devices do);
 *   memory          RSS of the broker processes (with redis/epmd) after the storm minus before, per client;
 *   fan-in          `publishers` clients publish `messages` QoS 1 messages each into one
 *                   QoS 1 wildcard subscriber on node 0 (the control plane's uplink shape);
 *   node death      the last node gets SIGKILL; its clients fail over to the others, and a
 *                   prober on node 0 publishes to each of them every second until every one
 *                   received again (level-triggered, as Flotilla re-sends desired state).
 * Usage: npm run bench -- brokers [--devices 10000] [--publishers 1000] [--messages 20] [--bytes 256] [--settle 2]
 * FLOTILLA_BENCH_RABBITMQ_TUNING=off: RabbitMQ without Flotilla's tuning lines (rabbitmq-node-config.ts), for before/after.
 */
const SHAPES: Array<[EngineName, number]> = [
  ['aedes', 1],
  ['mosquitto', 1],
  ['aedes-redis', 1],
  ['aedes-redis', 3],
  ['nats', 1],
  ['nats', 3],
  ['rabbitmq', 1],
  ['rabbitmq', 3],
];
/** FLOTILLA_BENCH_BROKERS=nats:3,rabbitmq:3 runs only those shapes (bare aedes is always first, as the baseline). */
function shapes(): Array<[EngineName, number]> {
  const only = process.env.FLOTILLA_BENCH_BROKERS?.split(',').map((s) => s.trim());
  return only ? SHAPES.filter(([e, n], i) => i === 0 || only.includes(`${e}:${n}`)) : SHAPES;
}
const CONNECT_TIMEOUT_MS = 240_000;
const DEATH_TIMEOUT_MS = Number(process.env.FLOTILLA_BENCH_DEATH_S ?? 90) * 1000;

type Row = Record<string, string | number>;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, publishers: 1000, messages: 20, bytes: 256, settle: 2 });
  console.log(machineLine());
  console.log(`${flags.devices} clients; fan-in ${flags.publishers} × ${flags.messages} QoS 1 messages of ${flags.bytes} B`);
  const rows: Row[] = [];
  for (const [engine, size] of shapes()) {
    const dir = mkdtempSync(join(tmpdir(), `flotilla-brokers-${engine}-`));
    let broker: RunningBroker | undefined;
    const started = performance.now();
    try {
      broker = await startBroker(engine, size, dir);
      const row = await measure(engine, size, broker, flags, (performance.now() - started) / 1000);
      rows.push(row);
      console.log(JSON.stringify(row));
    } catch (e) {
      console.error(`${engine} × ${size}: ${(e as Error).message}`);
      rows.push({ engine, nodes: size, version: engineVersion(engine), 'start s': 'failed' });
    } finally {
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(rows.map((r) => withRatios(r, rows[0]!)));
  console.log('ratios (×) are to bare aedes on one node: connect time, fan-in msg/s, KiB per connection');
}

async function measure(
  engine: EngineName,
  size: number,
  broker: RunningBroker,
  flags: { devices: number; publishers: number; messages: number; bytes: number; settle: number },
  startS: number,
): Promise<Row> {
  const pids = [...broker.nodes.map((n) => n.pid), ...broker.helperPids];
  const swarm = new Swarm(broker.nodes.map((n) => n.url));
  try {
    await sleep(1000);
    const rssBefore = treeRssMiB(pids);
    const t0 = performance.now();
    const connected = await swarm.connectAll(flags.devices, 500, CONNECT_TIMEOUT_MS);
    const connectS = (performance.now() - t0) / 1000;
    // Memory per held connection: after `settle` s idle (RabbitMQ's background GC runs every 30 s).
    await sleep(flags.settle * 1000);
    const rssAfter = treeRssMiB(pids);
    const flow = await fanIn(swarm, broker.nodes[0]!.url, { publishers: flags.publishers, perClient: flags.messages, bytes: flags.bytes });
    const death = size > 1 ? await nodeDeath(swarm, broker) : undefined;
    return {
      engine,
      nodes: size,
      version: engineVersion(engine),
      licence: LICENCES[engine],
      'start s': startS,
      connected: `${connected}/${flags.devices}`,
      'connect s': connectS,
      'KiB/conn': ((rssAfter - rssBefore) * 1024) / Math.max(1, connected),
      'RSS MiB': rssAfter,
      'fan-in msg/s': flow.received / flow.seconds,
      'delivered %': (100 * flow.received) / flow.sent,
      'death: 1st CONNACK p50/max s': death ? `${death.backP50.toFixed(1)}/${death.backMax.toFixed(1)}` : 'n/a',
      'death: received again': death
        ? `${death.received}/${death.affected} in ${death.receivedMax.toFixed(1)} s${death.silent ? ` (${death.silent} connected but never received)` : ''}`
        : 'n/a',
    };
  } finally {
    await swarm.end();
  }
}

async function nodeDeath(
  swarm: Swarm,
  broker: RunningBroker,
): Promise<{ affected: number; backP50: number; backMax: number; received: number; receivedMax: number; silent: number }> {
  const victim = broker.nodes.length - 1;
  const affected = swarm.clients.filter((c) => c.home === victim && c.client.connected);
  const prober = await probeClient(broker.nodes[0]!.url, 'bench-prober');
  // The first CONNACK after the kill: a node may accept a client and close it again at once.
  const firstBack = new Map<string, number>();
  for (const c of affected) c.client.once('connect', () => firstBack.set(c.id, performance.now()));
  const t0 = performance.now();
  await broker.nodes[victim]!.kill();
  const deadline = t0 + DEATH_TIMEOUT_MS;
  const waiting = (): typeof affected => affected.filter((c) => c.receivedAt < t0);
  while (waiting().length > 0 && performance.now() < deadline) {
    for (const c of waiting()) if (c.client.connected && c.connectedAt > t0) prober.publish(`bench/${c.id}/in`, 'desired', { qos: 1 });
    await sleep(1000);
  }
  await withTimeout(prober.endAsync(true), 10_000, 'the prober closing').catch(() => undefined);
  const back = [...firstBack.values()].map((at) => (at - t0) / 1000).sort((a, b) => a - b);
  const got = affected
    .filter((c) => c.receivedAt > t0)
    .map((c) => (c.receivedAt - t0) / 1000)
    .sort((a, b) => a - b);
  return {
    affected: affected.length,
    backP50: percentile(back, 50),
    backMax: back.at(-1) ?? NaN,
    received: got.length,
    receivedMax: got.at(-1) ?? NaN,
    silent: affected.filter((c) => firstBack.has(c.id) && c.receivedAt < t0).length,
  };
}

function withRatios(row: Row, base: Row): Row {
  const ratio = (key: string): string => {
    const [a, b] = [row[key], base[key]];
    return typeof a === 'number' && typeof b === 'number' && b !== 0 ? `${(a / b).toFixed(2)}×` : '';
  };
  const { licence, ...rest } = row;
  return {
    ...rest,
    'connect ×': ratio('connect s'),
    'msg/s ×': ratio('fan-in msg/s'),
    'KiB/conn ×': ratio('KiB/conn'),
    licence: licence ?? '',
  };
}

runBench(main);
