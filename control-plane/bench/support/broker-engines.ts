import { fork, spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { RABBITMQ_NODE_TUNING, RABBITMQ_PLUGINS } from '../../src/broker/rabbitmq/rabbitmq-node-config';
import { freePort, sleep } from './control-plane-process';

/**
 * The MQTT broker engines the brokers benchmark compares, as local processes on 127.0.0.1
 * (temporary directories, free ports): Debian's nats-server 2.9 (MQTT on JetStream),
 * rabbitmq-server 3.10 (rabbitmq_mqtt), aedes 1.2 on redis-server 7.0 (mqemitter-redis),
 * and bare aedes / Mosquitto 2.0 as the one-box baseline. Each starts as one node or as a
 * cluster of three; `stop()` ends every process it started, `kill()` one node with SIGKILL.
 */
export type EngineName = 'aedes' | 'mosquitto' | 'aedes-redis' | 'nats' | 'rabbitmq';

export interface BrokerNode {
  url: string;
  /** The node's process (the root of its process tree). */
  pid: number;
  kill(): Promise<void>;
}

export interface RunningBroker {
  nodes: BrokerNode[];
  /** Processes that belong to the broker but are no MQTT node (redis-server, epmd). */
  helperPids: number[];
  stop(): Promise<void>;
}

export const LICENCES: Record<EngineName, string> = {
  aedes: 'MIT',
  mosquitto: 'EPL-2.0 / EDL-1.0',
  'aedes-redis': 'MIT + Redis 7.0 BSD-3-Clause',
  nats: 'Apache-2.0',
  rabbitmq: 'MPL-2.0 (Erlang: Apache-2.0)',
};

const ROOT = join(__dirname, '..', '..', '..');
const READY_MS = 120_000;
// Not Debian's /usr/sbin wrapper: that one switches to the rabbitmq user and its home's cookie.
const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';
/** FLOTILLA_BENCH_RABBITMQ_TUNING=off: the nodes without Flotilla's tuning lines (the "before" of BENCHMARKS.md). */
const RABBITMQ_TUNING = process.env.FLOTILLA_BENCH_RABBITMQ_TUNING === 'off' ? [] : RABBITMQ_NODE_TUNING;

export function engineVersion(name: EngineName): string {
  const pkg = { aedes: '', mosquitto: 'mosquitto', 'aedes-redis': 'redis-server', nats: 'nats-server', rabbitmq: 'rabbitmq-server' }[name];
  const aedes = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'aedes', 'package.json'), 'utf8')) as { version: string }).version;
  if (!pkg) return `aedes ${aedes}`;
  const deb = execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8' });
  return name === 'aedes-redis' ? `aedes ${aedes} + redis ${deb}` : `${pkg} ${deb}`;
}

export async function startBroker(name: EngineName, size: number, dir: string): Promise<RunningBroker> {
  mkdirSync(dir, { recursive: true });
  const children: ChildProcess[] = [];
  const helpers: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    // Nodes before their helpers: an aedes node whose Redis went first dies of EPIPE.
    for (const c of [...children.reverse(), ...helpers.reverse()]) await end(c, 'SIGTERM');
  };
  try {
    const nodes = await starters[name](size, dir, children, helpers);
    return { nodes, helperPids: helpers.map((h) => h.pid!), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

type Starter = (size: number, dir: string, children: ChildProcess[], helpers: ChildProcess[]) => Promise<BrokerNode[]>;

const starters: Record<EngineName, Starter> = {
  async aedes(size, _dir, children) {
    if (size !== 1) throw new Error('bare aedes has no cluster mode');
    return [await aedesNode(children)];
  },

  async mosquitto(size, dir, children) {
    if (size !== 1) throw new Error('Mosquitto has no cluster mode (bridges only)');
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\nmax_queued_messages 100000\npersistence false\nlog_dest none\n`,
    );
    const child = track(children, spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' }));
    return [await ready(child, port)];
  },

  async 'aedes-redis'(size, dir, children, helpers) {
    const redisPort = await freePort();
    const redis = track(
      helpers,
      spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', dir], {
        stdio: 'ignore',
      }),
    );
    await waitTcp(redis, redisPort);
    const nodes: BrokerNode[] = [];
    for (let i = 0; i < size; i++) nodes.push(await aedesNode(children, `redis://127.0.0.1:${redisPort}`));
    return nodes;
  },

  async nats(size, dir, children) {
    const ports = await Promise.all(
      Array.from({ length: size }, async () => ({ client: await freePort(), cluster: await freePort(), mqtt: await freePort() })),
    );
    const routes = ports.map((p) => `nats-route://127.0.0.1:${p.cluster}`).join(', ');
    const started = ports.map((p, i) => {
      const conf = join(dir, `n${i}.conf`);
      const cluster = size > 1 ? `cluster { name: bench, listen: 127.0.0.1:${p.cluster}, routes: [${routes}] }\n` : '';
      writeFileSync(
        conf,
        `server_name: n${i}\nlisten: 127.0.0.1:${p.client}\nmax_connections: 100000\njetstream { store_dir: "${join(dir, `js${i}`)}" }\n${cluster}mqtt { listen: 127.0.0.1:${p.mqtt} }\n`,
      );
      return track(children, spawn('nats-server', ['-c', conf], { stdio: 'ignore' }));
    });
    // JetStream (which MQTT needs) answers only once the cluster elected its meta leader.
    return Promise.all(started.map((c, i) => ready(c, ports[i]!.mqtt)));
  },

  async rabbitmq(size, dir, children, helpers) {
    const epmdPort = await freePort();
    const epmd = track(helpers, spawn('epmd', ['-port', String(epmdPort)], { stdio: 'ignore' }));
    await waitTcp(epmd, epmdPort);
    const home = join(dir, 'home');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, '.erlang.cookie'), 'flotilla-brokers-bench-cookie');
    chmodSync(join(home, '.erlang.cookie'), 0o400);
    // The plugins and tuning Flotilla ships (the management plugin's statistics cost memory per connection too).
    writeFileSync(join(dir, 'enabled_plugins'), `[${RABBITMQ_PLUGINS.join(',')}].\n`);
    const tag = `bench${process.pid}`;
    const env = (i: number, amqp: number, mqtt: number, dist: number, management: number): NodeJS.ProcessEnv => {
      const nodeDir = join(dir, `n${i}`);
      mkdirSync(nodeDir, { recursive: true });
      writeFileSync(
        join(nodeDir, 'rabbitmq.conf'),
        [
          `listeners.tcp.1 = 127.0.0.1:${amqp}`,
          `mqtt.listeners.tcp.1 = 127.0.0.1:${mqtt}`,
          'mqtt.allow_anonymous = true',
          // As Flotilla configures its cluster (deploy/ha/rabbitmq/rabbitmq.conf, RabbitMqManagement.ensureSessionPolicy).
          'mqtt.durable_queue_type = quorum',
          'loopback_users = none',
          'log.console = false',
          'log.file.level = warning',
          `management.tcp.ip = 127.0.0.1`,
          `management.tcp.port = ${management}`,
          ...RABBITMQ_TUNING,
          '',
        ].join('\n'),
      );
      return {
        ...process.env,
        HOME: home,
        ERL_EPMD_PORT: String(epmdPort),
        RABBITMQ_NODENAME: `${tag}n${i}@localhost`,
        RABBITMQ_DIST_PORT: String(dist),
        RABBITMQ_CONFIG_FILE: join(nodeDir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_MNESIA_BASE: join(nodeDir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(nodeDir, 'log'),
        RABBITMQ_PID_FILE: join(nodeDir, 'pid'),
      };
    };
    const nodes: BrokerNode[] = [];
    let first: NodeJS.ProcessEnv | undefined;
    for (let i = 0; i < size; i++) {
      const [amqp, mqtt, dist, management] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const e = env(i, amqp, mqtt, dist, management);
      first ??= e;
      const child = track(children, spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { env: e, stdio: 'ignore' }));
      // Nodes after the first join the first one's cluster (RabbitMQ needs a majority of them).
      if (i > 0) {
        await waitCtl(e, ['await_startup']);
        const ctl = (args: string[]): string => execFileSync(RABBITMQCTL, ['-q', ...args], { env: e, encoding: 'utf8', timeout: 60_000 });
        ctl(['stop_app']);
        ctl(['join_cluster', `${tag}n0@localhost`]);
        ctl(['start_app']);
      }
      nodes.push(await ready(child, mqtt));
    }
    // Clean-session queues (classic, on the node the client reached) mirrored once, as the control plane's policy: without it they cannot be replaced while that node is away.
    execFileSync(
      RABBITMQCTL,
      [
        '-q',
        'set_policy',
        '--apply-to',
        'queues',
        'flotilla-mqtt-sessions',
        '^mqtt-subscription-',
        '{"ha-mode":"exactly","ha-params":2,"ha-sync-mode":"automatic"}',
      ],
      {
        env: first!,
        timeout: 60_000,
      },
    );
    return nodes;
  },
};

async function aedesNode(children: ChildProcess[], redisUrl?: string): Promise<BrokerNode> {
  const port = await freePort();
  const child = track(
    children,
    fork(join(__dirname, 'aedes-node.ts'), [String(port), ...(redisUrl ? [redisUrl] : [])], {
      cwd: ROOT,
      execArgv: ['-r', '@swc-node/register'],
      env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json') },
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`aedes node exited (${code})`)));
    child.once('message', () => resolve());
  });
  child.removeAllListeners('exit');
  return node(child, port);
}

function track(list: ChildProcess[], child: ChildProcess): ChildProcess {
  list.push(child);
  return child;
}

function node(child: ChildProcess, port: number): BrokerNode {
  return { url: `mqtt://127.0.0.1:${port}`, pid: child.pid!, kill: () => end(child, 'SIGKILL') };
}

/** The node answers MQTT: a CONNECT gets its CONNACK. */
async function ready(child: ChildProcess, port: number): Promise<BrokerNode> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode}) before answering MQTT on ${port}`);
    try {
      const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `probe-${port}`, reconnectPeriod: 0, connectTimeout: 3000 });
      await c.endAsync();
      return node(child, port);
    } catch {
      if (Date.now() > deadline) throw new Error(`${child.spawnfile} did not answer MQTT on ${port} within ${READY_MS / 1000} s`);
      await sleep(250);
    }
  }
}

async function waitTcp(child: ChildProcess, port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${child.spawnfile} exited (${child.exitCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      s.once('connect', () => s.destroy());
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${child.spawnfile} did not listen on ${port}`);
}

async function waitCtl(env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    try {
      execFileSync(RABBITMQCTL, ['-q', ...args, '--timeout', '10'], { env, stdio: 'ignore', timeout: 15_000 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(500);
    }
  }
}

/** Ends a process and everything it started (Erlang's helpers, a shell's exec chain). */
async function end(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const pid of processTree(child.pid!).reverse()) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

/** A process and its descendants, parents first, from /proc. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited while listing
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out;
}

/** Resident memory of the process trees, in MiB. */
export function treeRssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids.flatMap(processTree)) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kib / 1024;
}
