import { Aedes } from 'aedes';
import { deviceTopic, PROTOCOL_SCHEMA } from '@flotilla/shared';
import { machineLine, median, printTable, runBench } from '../../test/bench/machine';
import { AedesDeviceBroker } from '../src/broker/aedes-device-broker';
import { queueInConstantTime } from '../src/broker/emitter-queue';
import type { MqttServer } from '../src/broker/mqtt-server';
import { numberFlags } from './support/control-plane-process';

/** Devices' messages reaching the broker per turn of the event loop: below, near and past a fan-out's answers. */
const ARRIVALS_PER_TURN = [500, 2_000, 5_000];
const DESIGNS = {
  "aedes' own queue": (_broker: Aedes) => undefined,
  'constant-time queue': queueInConstantTime,
};

/**
 * uplink-queue: the devices' messages through aedes' emitter into the control plane's uplink
 * subscription (`AedesDeviceBroker`, which releases each delivery slot in a microtask, at most
 * RELEASES_PER_TURN a turn), in this process, without sockets: `--messages` QoS 1 `reported`
 * messages, `ARRIVALS_PER_TURN` arriving each turn. Past the emitter's concurrency (100) they wait
 * in its queue: aedes' own (arrays shifted from the head, the design before) against the control
 * plane's (broker/emitter-queue.ts), alternating, `--runs` each. The CPU until every message was
 * delivered, median of the runs, and the ratio.
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { messages: 40_000, runs: 5 });
  console.log(machineLine());
  const rows: Record<string, string | number>[] = [];
  for (const perTurn of ARRIVALS_PER_TURN) {
    const cpu = new Map(Object.keys(DESIGNS).map((name) => [name, [] as number[]]));
    for (let run = 0; run < flags.runs; run++)
      for (const [name, setUp] of Object.entries(DESIGNS)) cpu.get(name)!.push(await deliverAll(setUp, flags.messages, perTurn));
    const [before, now] = [...cpu.values()].map(median) as [number, number];
    rows.push({
      'arrivals per turn': perTurn,
      messages: flags.messages,
      ...Object.fromEntries([...cpu].map(([name, samples]) => [`CPU ms, ${name}`, median(samples)])),
      ratio: now / before,
    });
  }
  printTable(rows);
}

/** CPU ms of this process until all `messages` were delivered to the uplink subscription. */
async function deliverAll(setUp: (broker: Aedes) => void, messages: number, perTurn: number): Promise<number> {
  const broker = await Aedes.createBroker();
  try {
    setUp(broker);
    const device = new AedesDeviceBroker(broker, {} as MqttServer);
    device.onModuleInit();
    let delivered = 0;
    device.onUplink(async () => void delivered++);
    const payload = Buffer.from(JSON.stringify({ schema: PROTOCOL_SCHEMA, rev: 1 }));
    const published: Promise<void>[] = [];
    const start = process.cpuUsage();
    for (let sent = 0; sent < messages;) {
      for (const end = Math.min(sent + perTurn, messages); sent < end; sent++) {
        const topic = deviceTopic(`dev_${sent % 10_000}`, 'reported');
        published.push(
          new Promise((resolve, reject) =>
            broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (e) => (e ? reject(e) : resolve())),
          ),
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(published);
    const used = process.cpuUsage(start);
    if (delivered !== messages) throw new Error(`delivered ${delivered} of ${messages} messages`);
    return (used.user + used.system) / 1000;
  } finally {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
  }
}

runBench(main);
