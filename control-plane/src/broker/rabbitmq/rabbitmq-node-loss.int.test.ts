import { startRabbitCluster, type RabbitCluster, type RabbitNode } from '../../../../test/support/rabbitmq';
import { renderPrometheus } from '../../health/prometheus';
import { eventually } from '../../testing/harness';
import { brokerFamilies } from '../broker-metrics';
import { RabbitMqDeviceBroker } from './rabbitmq-device-broker';

/**
 * The management reads a replica makes (the cluster's nodes for readiness and /metrics, the
 * connection list for presence) against a real 3-node cluster, while one node does not answer:
 * SIGSTOPped, as a node stopping slowly (`docker stop` of a node holding 333 TLS connections took
 * 17 s in the HA e2e) or hung, which its peers keep counting as running until net_ticktime expires.
 * Every cluster-wide management read on the survivors waits on it meanwhile; before node-local
 * probes, every replica lost the cluster's nodes on every URL ("cannot read the cluster's nodes").
 */
jest.setTimeout(240_000);

let cluster: RabbitCluster;
let broker: RabbitMqDeviceBroker;

beforeAll(async () => {
  // No device connects here: the auth backend is never asked.
  cluster = await startRabbitCluster(3, 'http://127.0.0.1:9/auth');
  broker = new RabbitMqDeviceBroker({
    amqpUrls: cluster.nodes.map((n) => n.amqpUrl),
    managementUrls: cluster.nodes.map((n) => n.managementUrl),
    deviceMqttUrl: 'mqtt://127.0.0.1:1',
    authListener: { host: '127.0.0.1', port: 0 },
    vhost: '/',
    prefetch: 16,
  });
  await broker.onApplicationBootstrap();
});

afterAll(async () => {
  await broker?.beforeApplicationShutdown();
  await cluster?.close();
});

const metrics = () => renderPrometheus(brokerFamilies(broker.status()));
const gauge = (node: RabbitNode) => new RegExp(`flotilla_broker_node_running\\{node="${node.name}"\\} (\\d)`);

it('keeps readiness and the per-node gauges while a node does not answer, and the connection list once it is down', async () => {
  const [n1, n2, n3] = cluster.nodes as [RabbitNode, RabbitNode, RabbitNode];
  await eventually(async () => broker.status().up && metrics().match(gauge(n3))?.[1] === '1', 30_000, 'the three nodes running');
  // The replica's own AMQP connection (user flotilla, on n1) is listed after the nodes' next statistics emission.
  const listsOwn = async () => (await broker.connectedDevices().catch(() => undefined))?.has('flotilla') === true;
  await eventually(listsOwn, 45_000, 'the connection list naming the replica');

  const frozenAt = performance.now();
  cluster.freeze(n3);
  const measured = Promise.all(
    [
      '/api/nodes?columns=name,running',
      '/api/nodes?disable_stats=true&columns=name,running',
      '/api/overview?disable_stats=true&columns=node',
    ].map((path) => timed(n1, path)),
  );

  // The survivors' view within a few of the client's reads (every 5 s after the last; probes time out in 10 s),
  // well before RabbitMQ declares n3 down (45 s at the earliest), when the client before this change saw again.
  await eventually(
    async () => {
      const text = metrics();
      return text.match(gauge(n1))?.[1] === '1' && text.match(gauge(n2))?.[1] === '1' && text.match(gauge(n3))?.[1] === '0';
    },
    30_000,
    'n1 and n2 running, n3 down on /metrics',
  );
  const seenAfter = (performance.now() - frozenAt) / 1000;
  const status = broker.status();
  expect(status.up).toBe(true);
  expect(metrics()).toMatch(/flotilla_broker_up\{mode="rabbitmq"\} 1/);
  expect(status.nodes?.find((n) => n.name === n3.name)).toMatchObject({ running: false, unanswered: expect.stringMatching(/no answer/) });
  console.log(`n3 SIGSTOPped: shown down on /metrics after ${seenAfter.toFixed(1)} s; on n1 meanwhile: ${(await measured).join('; ')}`);

  // The connection list waits on n3 until RabbitMQ declares it down (or answers from the management
  // cache for a moment): killed, its peers see its connections close at once, and the list is back.
  await cluster.kill(n3);
  await eventually(listsOwn, 30_000, 'the connection list once n3 is down');
  expect(broker.status()).toMatchObject({ up: true, reconnects: 0 });
});

/** How long `node` took to answer `path`, or that it had not after 15 s (n3 is shown down by then; this waits for it). */
async function timed(node: RabbitNode, path: string): Promise<string> {
  const url = new URL(node.managementUrl);
  const auth = Buffer.from(`${url.username}:${url.password}`).toString('base64');
  url.username = url.password = '';
  const t0 = performance.now();
  const took = () => `${((performance.now() - t0) / 1000).toFixed(2)} s`;
  try {
    const res = await fetch(new URL(path, url), { headers: { authorization: `Basic ${auth}` }, signal: AbortSignal.timeout(15_000) });
    await res.text();
    return `GET ${path} ${res.status} in ${took()}`;
  } catch {
    return `GET ${path} no answer in ${took()}`;
  }
}
