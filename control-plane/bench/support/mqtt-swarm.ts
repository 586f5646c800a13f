import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { sleep } from './control-plane-process';

/**
 * N plain mqtt.js clients for the brokers benchmark, spread round-robin over a broker's nodes.
 * Client i subscribes (QoS 1) to `bench/c<i>/in`, as a device to its own desired topic, and
 * knows every node: when its node dies, mqtt.js reconnects to the next one in the list
 * (clean session, so it subscribes again there).
 */
export interface SwarmClient {
  id: string;
  home: number;
  client: MqttClient;
  /** performance.now() of the last CONNACK and of the last message on the client's own topic. */
  connectedAt: number;
  receivedAt: number;
}

export class Swarm {
  readonly clients: SwarmClient[] = [];

  constructor(private readonly urls: string[]) {}

  /** Connects and subscribes n clients, at most `inFlight` at a time; resolves with how many made it in time. */
  async connectAll(n: number, inFlight: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (next < n && performance.now() < deadline) {
        const i = next++;
        if (await this.add(i, deadline - performance.now())) done++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return done;
  }

  private add(i: number, timeoutMs: number): Promise<boolean> {
    const home = i % this.urls.length;
    const order = [...this.urls.slice(home), ...this.urls.slice(0, home)].map((u) => new URL(u));
    const opts: IClientOptions = {
      clientId: `c${i}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 1000,
      connectTimeout: 30_000,
      servers: order.map((u) => ({ host: u.hostname, port: Number(u.port) })),
    };
    const client = connect(opts);
    const entry: SwarmClient = { id: `c${i}`, home, client, connectedAt: 0, receivedAt: 0 };
    this.clients.push(entry);
    const topic = `bench/${entry.id}/in`;
    client.on('connect', () => (entry.connectedAt = performance.now()));
    client.on('message', (t) => {
      if (t === topic) entry.receivedAt = performance.now();
    });
    client.on('error', () => undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(1, timeoutMs));
      client.once('connect', () => {
        client.subscribe(topic, { qos: 1 }, (err) => {
          clearTimeout(timer);
          resolve(!err);
        });
      });
    });
  }

  async end(): Promise<void> {
    await withTimeout(
      Promise.all(this.clients.map((c) => c.client.endAsync(true).catch(() => undefined))),
      30_000,
      'closing the clients',
    ).catch(() => undefined);
  }
}

/** A client on one node for the measurements' own traffic (the consumer, the prober). */
export async function probeClient(url: string, clientId: string, timeoutMs = 60_000): Promise<MqttClient> {
  const client = connect(url, { clientId, protocolVersion: 4, clean: true, reconnectPeriod: 1000 });
  client.on('error', () => undefined);
  await withTimeout(new Promise<void>((resolve) => client.once('connect', () => resolve())), timeoutMs, `${clientId} connecting to ${url}`);
  return client;
}

/** A saturated broker may never answer: every wait of the benchmark is bounded. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)),
  );
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Fan-in: `publishers` clients each publish `perClient` QoS 1 messages of `bytes` bytes to
 * `bench/<id>/up`, all at once; one consumer subscribed to `bench/+/up` (QoS 1) counts them.
 * Ends when all arrived, nothing arrived for 10 s, or after 120 s.
 */
export async function fanIn(
  swarm: Swarm,
  consumerUrl: string,
  opts: { publishers: number; perClient: number; bytes: number },
): Promise<{ sent: number; received: number; seconds: number }> {
  const consumer = await probeClient(consumerUrl, 'bench-consumer');
  let received = 0;
  let lastAt: number;
  consumer.on('message', () => {
    received++;
    lastAt = performance.now();
  });
  await withTimeout(consumer.subscribeAsync('bench/+/up', { qos: 1 }), 60_000, 'the fan-in consumer subscribing');
  const payload = Buffer.alloc(opts.bytes, 'x');
  const publishers = swarm.clients.filter((c) => c.client.connected).slice(0, opts.publishers);
  const sent = publishers.length * opts.perClient;
  const t0 = performance.now();
  lastAt = t0;
  for (const p of publishers) for (let k = 0; k < opts.perClient; k++) p.client.publish(`bench/${p.id}/up`, payload, { qos: 1 });
  // Ends when all arrived, nothing arrived for 10 s, or after 120 s (a trickle counts as what it is).
  while (received < sent && performance.now() - lastAt < 10_000 && performance.now() - t0 < 120_000) await sleep(50);
  const seconds = ((received < sent ? lastAt : performance.now()) - t0) / 1000;
  await withTimeout(consumer.endAsync(true), 10_000, 'the fan-in consumer closing').catch(() => undefined);
  return { sent, received, seconds };
}
