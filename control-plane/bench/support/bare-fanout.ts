import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { percentile } from '../../../test/bench/machine';
import { PUBLISH_IN_FLIGHT } from '../../src/devices/desired-publisher';
import { freePort, UsageMeter, waitFor } from './control-plane-process';
import { nodeArgsFrom } from './node-args';

/**
 * The rollout bench's baseline: a bare aedes 1.2 (no authentication, no hooks, no database) in a
 * child process, which publishes messages it was given beforehand, each to its own topic, QoS 1,
 * with as many in flight as the control plane's fan-out (devices/desired-publisher.ts). The
 * messages are loaded first and published on `publish()`, so the baseline's clock starts with
 * its first publish, not with copying 10,000 messages over IPC. Once publishing, it answers a
 * device's `desired/get` with that device's message, as the control plane would.
 */
const IN_FLIGHT = PUBLISH_IN_FLIGHT;
const BARE_CONCURRENCY = 4096;

export interface BareMessage {
  topic: string;
  payload: Buffer;
}

type ToChild = { type: 'load'; messages: BareMessage[] } | { type: 'publish' };
type FromChild = { type: 'ready' } | { type: 'loaded' } | { type: 'published'; ms: number };

export class BareFanout {
  private constructor(
    private readonly child: ChildProcess,
    readonly mqttUrl: string,
  ) {}

  static async start(): Promise<BareFanout> {
    const port = await freePort();
    const root = join(__dirname, '..', '..', '..');
    const child = fork(__filename, [String(port)], {
      cwd: root,
      // BARE_NODE_ARGS: node flags for the baseline, as CP_NODE_ARGS for the control plane (e.g. --cpu-prof).
      execArgv: ['-r', '@swc-node/register', ...nodeArgsFrom('BARE_NODE_ARGS')],
      env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
      // Buffers over IPC as they are, not as JSON.
      serialization: 'advanced',
    });
    const fanout = new BareFanout(child, `mqtt://127.0.0.1:${port}`);
    await fanout.next('ready');
    return fanout;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async load(messages: BareMessage[]): Promise<void> {
    const loaded = this.next('loaded');
    this.child.send({ type: 'load', messages } satisfies ToChild);
    await loaded;
  }

  /** Starts publishing what was loaded; resolves with the time until the last publish was handed to a socket. */
  async publish(): Promise<number> {
    const published = this.next('published');
    this.child.send({ type: 'publish' } satisfies ToChild);
    return ((await published) as Extract<FromChild, { type: 'published' }>).ms;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
  }

  private next(type: FromChild['type']): Promise<FromChild> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`bare broker exited (${code})`));
      const onMessage = (m: FromChild): void => {
        if (m.type !== type) return;
        this.child.off('exit', onExit);
        this.child.off('message', onMessage);
        resolve(m);
      };
      this.child.once('exit', onExit);
      this.child.on('message', onMessage);
    });
  }
}

/**
 * The baseline as it was first measured: `count` plain mqtt.js clients in this process, each
 * subscribed to `bare/<i>`, that only note the arrival (no verification, no answer), receiving
 * `count` distinct messages of `bytes` bytes. Times from the first publish.
 */
export async function receiveOnlyBaseline(count: number, bytes: number): Promise<{ p50: number; max: number; cpuSeconds: number }> {
  const bare = await BareFanout.start();
  const clients: MqttClient[] = [];
  const receivedAt: number[] = [];
  let t0 = Infinity;
  try {
    for (let i = 0; i < count; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - i) }, async (_, j) => {
        const client = await connectAsync(bare.mqttUrl, { clientId: `bare-${i + j}`, protocolVersion: 4, reconnectPeriod: 0 });
        client.on('message', () => receivedAt.push(performance.now() - t0));
        await client.subscribeAsync(`bare/${i + j}`, { qos: 1 });
        return client;
      });
      clients.push(...(await Promise.all(batch)));
    }
    // Distinct per client, as each device's desired state is.
    await bare.load(Array.from({ length: count }, (_, i) => ({ topic: `bare/${i}`, payload: Buffer.alloc(bytes, `${i}:`) })));
    const usage = new UsageMeter(bare.pid).start();
    t0 = performance.now();
    void bare.publish();
    await waitFor(() => receivedAt.length >= count, 300_000, 'every bare client received its message', 20);
    const { cpuSeconds } = usage.stop();
    const sorted = [...receivedAt].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), max: sorted[sorted.length - 1]!, cpuSeconds };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await bare.stop();
  }
}

async function child(port: number): Promise<void> {
  // Its emitter delivers `concurrency` messages at a time (100 by default) and releases those
  // waiting recursively: the publishes in flight (256 then) plus the devices' answers queued past
  // it, and one baseline overflowed the stack and died (aedes' own path, which the control
  // plane's direct publish skips). Wide enough that no queue forms: the bare broker at its best.
  const broker = await Aedes.createBroker({ concurrency: BARE_CONCURRENCY });
  const server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  let messages: BareMessage[] = [];
  let publishing = false;
  const send = (m: FromChild): void => void process.send!(m);
  const publish = ({ topic, payload }: BareMessage, done: (e?: Error) => void): void =>
    broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, done);
  // A device whose connection dropped asks again after its reconnect (`<topic>/get`), as it asks
  // the control plane: answered from memory, or a baseline on a loaded machine never ends. Looked
  // up by topic, and only for a `/get`: a scan of every message for each of the devices' answers
  // cost this baseline a quarter of its CPU until session 11.
  let byTopic = new Map<string, BareMessage>();
  broker.on('publish', (packet, client) => {
    if (!publishing || !client || !packet.topic.endsWith('/get')) return;
    const message = byTopic.get(packet.topic.slice(0, -'/get'.length));
    if (message) publish(message, () => undefined);
  });
  process.on('message', (m: ToChild) => {
    if (m.type === 'load') {
      // Structured clone delivers Uint8Arrays; aedes wants Buffers.
      messages = m.messages.map(({ topic, payload }) => ({
        topic,
        payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      }));
      byTopic = new Map(messages.map((message) => [message.topic, message]));
      send({ type: 'loaded' });
      return;
    }
    const t0 = performance.now();
    publishing = true;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < messages.length) {
        const message = messages[next++]!;
        await new Promise<void>((resolve, reject) => publish(message, (e) => (e ? reject(e) : resolve())));
      }
    };
    void Promise.all(Array.from({ length: IN_FLIGHT }, worker)).then(() => send({ type: 'published', ms: performance.now() - t0 }));
  });
  process.on('SIGTERM', () => process.exit(0));
  send({ type: 'ready' });
}

if (require.main === module) {
  child(Number(process.argv[2])).catch((e: Error) => {
    console.error(e.stack ?? e.message);
    process.exit(1);
  });
}
