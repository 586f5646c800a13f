import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RABBITMQ_NODE_TUNING, RABBITMQ_PLUGINS } from '../../control-plane/src/broker/rabbitmq/rabbitmq-node-config';
import { deviceTlsListenerConfig, type RabbitMqTlsFiles } from '../../control-plane/src/broker/rabbitmq/rabbitmq-tls-config';
import { freePort } from './ports';

/**
 * RabbitMQ nodes as local processes on 127.0.0.1 (no system service): each with its own node
 * name, ports and data under one temp dir, sharing an Erlang cookie and an epmd of their own.
 * Installed by test/setup/ensure-services.sh (Debian's rabbitmq-server).
 */
const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

export const RABBITMQ_USER = 'flotilla';
export const RABBITMQ_PASSWORD = 'flotilla-test-secret';
const PLUGINS = RABBITMQ_PLUGINS.join(',');
/** How long an orderly stop may take before the node is killed. */
const ORDERLY_STOP_MS = 30_000;

export interface RabbitNode {
  name: string;
  amqpPort: number;
  mqttPort: number;
  /** The devices' MQTT/TLS listener (only when the cluster was started with TLS files). */
  mqttsPort: number;
  managementPort: number;
  distPort: number;
  amqpUrl: string;
  mqttUrl: string;
  managementUrl: string;
  running: boolean;
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** Stops one node (its devices' connections drop) and waits for the process to end. */
  stop(node: RabbitNode): Promise<void>;
  /** SIGKILLs one node's whole process group, as a crash or a lost machine: nothing is handed over. */
  kill(node: RabbitNode): Promise<void>;
  start(node: RabbitNode): Promise<void>;
  /**
   * SIGSTOPs one node's process group: a node that no longer answers while its peers still count
   * it in (its connections stay open), as a hung VM or a machine gone silent until net_ticktime
   * expires. `thaw` sends SIGCONT.
   */
  freeze(node: RabbitNode): void;
  thaw(node: RabbitNode): void;
  /** Runs rabbitmqctl against `node`; throws with its output when it fails. */
  ctl(node: RabbitNode, ...args: string[]): string;
  /** Stops every node and epmd, removes the temp dir. */
  close(): Promise<void>;
}

/**
 * Starts `size` clustered nodes (classic peer discovery) whose HTTP auth backend asks `authUrl`
 * (…/user, …/vhost, …/resource, …/topic). The control plane logs in as RABBITMQ_USER, an internal
 * user; devices are answered by the auth backend, cached for `authCacheMs`. With `tls`, each node
 * also has the devices' MQTT/TLS listener (`mqttsPort`, certificate login) as deploy/ha configures it.
 */
export async function startRabbitCluster(
  size: number,
  authUrl: string,
  authCacheMs = 5_000,
  tls?: RabbitMqTlsFiles,
): Promise<RabbitCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-rabbit-'));
  writeFileSync(join(dir, '.erlang.cookie'), `flotilla-test-cookie-${process.pid}`);
  chmodSync(join(dir, '.erlang.cookie'), 0o400);
  const epmdPort = await freePort();
  const nodes: RabbitNode[] = [];
  for (let i = 1; i <= size; i++) {
    const [amqpPort, mqttPort, mqttsPort, managementPort, distPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    nodes.push({
      name: `flotilla${i}_${process.pid}@localhost`,
      amqpPort,
      mqttPort,
      mqttsPort,
      managementPort,
      distPort,
      amqpUrl: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${amqpPort}`,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      managementUrl: `http://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@127.0.0.1:${managementPort}`,
      running: false,
    });
  }
  const env = (node: RabbitNode): NodeJS.ProcessEnv => ({
    ...process.env,
    HOME: dir,
    ERL_CRASH_DUMP: join(dir, 'log', 'erl_crash.dump'),
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: node.name,
    RABBITMQ_NODE_PORT: String(node.amqpPort),
    // Picked free like the others: one derived from the AMQP port could be a port another listener holds.
    RABBITMQ_DIST_PORT: String(node.distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, `${nodeShort(node)}.conf`),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, `${nodeShort(node)}.plugins`),
    RABBITMQ_PID_FILE: join(dir, `${nodeShort(node)}.pid`),
    RABBITMQ_LOGS: join(dir, 'log', `${nodeShort(node)}.log`),
  });
  mkdirSync(join(dir, 'log'));
  for (const node of nodes) {
    writeFileSync(join(dir, `${nodeShort(node)}.plugins`), `[${PLUGINS}].\n`);
    writeFileSync(join(dir, `${nodeShort(node)}.conf`), rabbitConfig(node, nodes, authUrl, authCacheMs, tls));
  }
  const processes = new Map<RabbitNode, ChildProcess>();
  const ctl = (node: RabbitNode, ...args: string[]): string => {
    const run = spawnSync(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', node.name, ...args], {
      env: env(node),
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (run.status !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} on ${node.name} failed: ${run.stdout}${run.stderr}`);
    return run.stdout;
  };
  const start = async (node: RabbitNode): Promise<void> => {
    const out = openSync(join(dir, 'log', `${nodeShort(node)}.out`), 'a');
    // A group of its own: the start script and the Erlang VM it runs die together in `kill`.
    const child = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
      env: env(node),
      cwd: dir,
      stdio: ['ignore', out, out],
      detached: true,
    });
    closeSync(out);
    processes.set(node, child);
    child.once('exit', () => (node.running = false));
  };
  /** Until the node answers (it registers with epmd a moment after the process starts), then until it has booted. */
  const awaitBoot = async (node: RabbitNode): Promise<void> => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (processes.get(node)?.exitCode !== null) throw new Error(`${node.name} exited while starting; see ${dir}/log`);
      try {
        ctl(node, 'await_startup', '--timeout', '90');
        node.running = true;
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  /** Peer discovery retries while the others boot; a quorum queue declared before all joined would live on fewer nodes. */
  const awaitClustered = async (): Promise<void> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = JSON.parse(ctl(nodes[0]!, 'cluster_status', '--formatter', 'json')) as { running_nodes?: string[] };
      if ((status.running_nodes ?? []).length === nodes.length) return;
      if (Date.now() > deadline) throw new Error(`the nodes did not form one cluster: ${JSON.stringify(status.running_nodes)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  const signalGroup = (node: RabbitNode, signal: NodeJS.Signals): void => {
    const child = processes.get(node);
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, signal);
  };
  const cluster: RabbitCluster = {
    nodes,
    ctl,
    start: async (node) => {
      await start(node);
      await awaitBoot(node);
    },
    stop: async (node) => {
      const child = processes.get(node);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // 3.10's orderly stop can wait minutes on MQTT connections still open (each one's shutdown
      // waits on a call); past the bound the node is killed, so a test never hangs on it. The stop
      // is asked without waiting for rabbitmqctl: a synchronous call would hold the bound's timer.
      const asked = spawn(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', node.name, 'stop'], { env: env(node), cwd: dir, stdio: 'ignore' });
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ORDERLY_STOP_MS)));
      if ((await Promise.race([exited, bound])) === 'late') {
        process.kill(-child.pid!, 'SIGKILL');
        await exited;
      }
      clearTimeout(timer);
      asked.kill('SIGKILL');
      node.running = false;
    },
    kill: async (node) => {
      const child = processes.get(node);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
      node.running = false;
    },
    freeze: (node) => signalGroup(node, 'SIGSTOP'),
    thaw: (node) => signalGroup(node, 'SIGCONT'),
    close: async () => {
      for (const node of nodes) if (processes.get(node)?.exitCode === null) signalGroup(node, 'SIGCONT');
      await Promise.all(nodes.map((node) => cluster.stop(node).catch(() => cluster.kill(node))));
      spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { env: { ...process.env, ERL_EPMD_PORT: String(epmdPort) } });
      if (process.env.FLOTILLA_KEEP_RABBITMQ) console.log(`RabbitMQ logs kept in ${dir}/log`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
  /**
   * The MQTT plugin tracks client ids in a Raft cluster of its own (mqtt_node): a node left out of
   * it refuses every MQTT connect ("client ID registration timed out"), and the others lose their
   * majority with one more node. Booted together, a node can be left out; one after the other,
   * each joins the running ones.
   */
  const awaitMqttMembers = async (): Promise<void> => {
    const deadline = Date.now() + 60_000;
    const members = (): number => Number(ctl(nodes[0]!, 'eval', '{ok, M, _} = ra:members({mqtt_node, node()}), length(M).').trim());
    while (members() !== nodes.length) {
      if (Date.now() > deadline) throw new Error(`the MQTT client-id Raft cluster has ${members()} of ${nodes.length} nodes`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  try {
    // Classic peer discovery: each node joins those already running.
    for (const node of nodes) {
      await start(node);
      await awaitBoot(node);
    }
    await awaitClustered();
    await awaitMqttMembers();
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

function nodeShort(node: RabbitNode): string {
  return node.name.split('@')[0]!;
}

function rabbitConfig(node: RabbitNode, nodes: RabbitNode[], authUrl: string, authCacheMs: number, tls?: RabbitMqTlsFiles): string {
  return [
    `listeners.tcp.default = 127.0.0.1:${node.amqpPort}`,
    // Plain MQTT on loopback only; devices use the TLS listener when there is one.
    `mqtt.listeners.tcp.default = 127.0.0.1:${node.mqttPort}`,
    ...(tls ? deviceTlsListenerConfig(`127.0.0.1:${node.mqttsPort}`, tls) : []),
    `management.tcp.ip = 127.0.0.1`,
    `management.tcp.port = ${node.managementPort}`,
    `default_user = ${RABBITMQ_USER}`,
    `default_pass = ${RABBITMQ_PASSWORD}`,
    `loopback_users = none`,
    `mqtt.allow_anonymous = false`,
    // As deploy/ha/rabbitmq/rabbitmq.conf: persistent sessions in quorum queues, which outlive a node.
    `mqtt.durable_queue_type = quorum`,
    // The control plane's own user first (internal); devices are asked of Flotilla, through the cache.
    `auth_backends.1 = internal`,
    `auth_backends.2 = cache`,
    `auth_cache.cached_backend = http`,
    `auth_cache.cache_ttl = ${authCacheMs}`,
    `auth_http.http_method = post`,
    `auth_http.user_path = ${authUrl}/user`,
    `auth_http.vhost_path = ${authUrl}/vhost`,
    `auth_http.resource_path = ${authUrl}/resource`,
    `auth_http.topic_path = ${authUrl}/topic`,
    `cluster_formation.peer_discovery_backend = classic_config`,
    ...nodes.map((n, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${n.name}`),
    `log.file.level = warning`,
    ...RABBITMQ_NODE_TUNING,
    '',
  ].join('\n');
}
