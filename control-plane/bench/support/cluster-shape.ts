import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReleaseView } from '@flotilla/shared';
import { apiJson, createSimFleet, provisionDevices, type SimCredential } from '../../../cli/src/sim/simulation';
import { startRabbitCluster, type RabbitCluster } from '../../../test/support/rabbitmq';
import { manifest } from '../../src/testing/sim-fleet';
import { loadOrCreatePublicCertificate, publicNames } from '../../src/tls/public-certificate';
import { ControlPlaneProcess, freePort, metrics, procUsage, sleep, waitFor } from './control-plane-process';

/**
 * The two shapes the cluster benchmarks compare, on this one machine:
 *   one box   one control plane with its embedded aedes broker (`npm start`);
 *   cluster   3 control-plane replicas (FLOTILLA_BROKER=rabbitmq) on one database, a 3-node
 *             RabbitMQ cluster (test/support/rabbitmq.ts: the nodes with Flotilla's shipped
 *             plugins and tuning), and HAProxy in front of MQTT (least connections over the
 *             nodes, health-checked) and of RabbitMQ's HTTP auth backend (over the replicas), as
 *             deploy/ha/haproxy.cfg does. Devices connect to HAProxy.
 * Both run every process from this checkout on the tests' PostgreSQL, so costs compare.
 */
export interface BenchShape {
  label: 'one box' | 'cluster';
  /** The first control plane: API, database. */
  primary: ControlPlaneProcess;
  replicas: ControlPlaneProcess[];
  /** Where device i connects: `deviceUrls[i % length]`. */
  deviceUrls: string[];
  rabbit?: RabbitCluster;
  /**
   * The cluster loses its last RabbitMQ node: SIGKILL to its Erlang VM, as a crash or a lost machine
   * does. (An orderly `rabbitmqctl stop` of a 3.10 node holding MQTT connections took minutes here:
   * each connection's shutdown waits on the client-id tracker.)
   */
  killBrokerNode?(): Promise<void>;
  /** The server-side processes, for CPU and RSS: control planes, and broker nodes with their load balancers (none apart in one box). */
  pids(): { controlPlanes: number[]; brokers: number[] };
  /** The same processes one by one, named (`cp1`, `rabbit2`, `haproxy1`…), for a per-process profile. */
  processes(): { name: string; pids: number[] }[];
  /** A counter summed over every replica's /metrics. */
  metric(name: string): Promise<number>;
  close(): Promise<void>;
}

export async function startOneBox(): Promise<BenchShape> {
  const cp = await ControlPlaneProcess.start();
  return {
    label: 'one box',
    primary: cp,
    replicas: [cp],
    // Over TLS, as the cluster's devices (RabbitMQ mode serves devices over TLS only).
    deviceUrls: [cp.mqttsUrl],
    pids: () => ({ controlPlanes: [cp.pid], brokers: [] }),
    processes: () => [{ name: 'cp1', pids: [cp.pid] }],
    metric: async (name) => (await metrics(cp)).get(name) ?? 0,
    close: () => cp.close(),
  };
}

/** HAProxy holds 2 descriptors per device and a process may open 20,000 here: one per this many devices. */
const DEVICES_PER_HAPROXY = 8_000;
/**
 * RabbitMQ 3.10's file handle cache admits a socket only while its count of handles stays under a
 * limit taken from `ulimit -n` (20,000 here, the host's hard limit), and it counts about three
 * handles per quorum-queue member (persistent sessions: one member of every device's queue on
 * every node) that are not open descriptors: at ~6,000 such devices each node's count reached the
 * limit with ~2,100 descriptors open, and every further connect waited in its socket setup for
 * good. The bench's nodes get the count a production node's `ulimit -n` of 65,536 would give
 * (a RabbitMQ maintainer recommends 50,000 as a default); the descriptors really open stay
 * bound by this host's 20,000.
 */
const NODE_FILE_HANDLE_LIMIT = 65_536;

export interface ClusterOptions {
  replicaCount?: number;
  nodeCount?: number;
  /** HAProxy logs every auth backend request here (path, status, server time), for counting them per connect. */
  authLog?: string;
  /**
   * Copies of each clean-session queue: unset as shipped (the control plane's policy, `ha-mode: exactly 2`);
   * a number sets a bench policy of higher priority (`ha-mode: exactly`), to measure what mirroring costs.
   */
  sessionCopies?: number;
  /** rabbitmq_auth_backend_cache's TTL (ms); 5,000 as deploy/ha ships it. */
  authCacheMs?: number;
  /** Node flags of every replica (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Devices reach the nodes' plain MQTT listeners (loopback only), to tell TLS's share of a connect; RabbitMQ mode ships TLS only. */
  plainMqtt?: boolean;
}

export async function startCluster(devices: number, options: ClusterOptions = {}): Promise<BenchShape> {
  const { replicaCount = 3, nodeCount = 3 } = options;
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-cluster-bench-'));
  const authPorts = await Promise.all(Array.from({ length: replicaCount }, () => freePort()));
  const authFront = await freePort();
  const haproxies: ChildProcess[] = [];
  let rabbit: RabbitCluster | undefined;
  const replicas: ControlPlaneProcess[] = [];
  const close = async (): Promise<void> => {
    for (const cp of [...replicas].reverse()) await cp.close();
    for (const h of haproxies) await end(h);
    await rabbit?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const mqttFronts = await Promise.all(Array.from({ length: Math.max(1, Math.ceil(devices / DEVICES_PER_HAPROXY)) }, () => freePort()));
    const deviceUrls = mqttFronts.map((p) => `${options.plainMqtt ? 'mqtt' : 'mqtts'}://127.0.0.1:${p}`);
    // What the replicas hand out (RabbitMQ mode accepts only TLS), even when the bench's devices use plain MQTT.
    const publicMqttUrl = `mqtts://127.0.0.1:${mqttFronts[0]!}`;
    // The nodes serve devices MQTT over TLS with the replicas' certificate (their shared data directory's tls/).
    const dataDir = join(dir, 'data');
    const tls = await loadOrCreatePublicCertificate(dataDir, publicNames({ FLOTILLA_PUBLIC_MQTT_URL: publicMqttUrl }));
    rabbit = await startRabbitCluster(nodeCount, `http://127.0.0.1:${authFront}`, options.authCacheMs ?? 5_000, tls);
    for (const node of rabbit.nodes) rabbit.ctl(node, 'eval', `file_handle_cache:set_limit(${NODE_FILE_HANDLE_LIMIT}).`);
    for (const [i, mqttFront] of mqttFronts.entries()) {
      const cfg = join(dir, `haproxy-${i}.cfg`);
      // TCP passthrough to the nodes' MQTT/TLS listeners.
      const nodes = rabbit.nodes.map((n) => (options.plainMqtt ? n.mqttPort : n.mqttsPort));
      // Only the first one fronts the auth backend (one port, one listener).
      const auth = i === 0 ? { port: authFront, replicas: authPorts, logged: options.authLog !== undefined } : undefined;
      writeFileSync(cfg, haproxyConfig(mqttFront, nodes, auth));
      const log = auth?.logged ? openSync(options.authLog!, 'w') : 'ignore';
      // `-q` would silence the log on stdout too.
      haproxies.push(spawn('haproxy', ['-db', ...(auth?.logged ? [] : ['-q']), '-f', cfg], { stdio: ['ignore', log, 'inherit'] }));
      if (typeof log === 'number') closeSync(log);
      await waitTcp(mqttFront);
    }
    const env = (i: number): Record<string, string> => {
      // Each replica lists the nodes from a different first one, so their AMQP connections spread.
      const nodes = [...rabbit!.nodes.slice(i % nodeCount), ...rabbit!.nodes.slice(0, i % nodeCount)];
      return {
        FLOTILLA_BROKER: 'rabbitmq',
        FLOTILLA_RABBITMQ_URL: nodes.map((n) => n.amqpUrl).join(','),
        FLOTILLA_RABBITMQ_MANAGEMENT_URL: nodes.map((n) => n.managementUrl).join(','),
        FLOTILLA_PUBLIC_MQTT_URL: publicMqttUrl,
        FLOTILLA_BROKER_AUTH_PORT: String(authPorts[i]),
      };
    };
    const primary = await ControlPlaneProcess.start({ env: env(0), dataDir, ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}) });
    replicas.push(primary);
    for (let i = 1; i < replicaCount; i++) replicas.push(await primary.replica(env(i)));
    const cluster = rabbit;
    if (options.sessionCopies !== undefined) {
      const definition = JSON.stringify({ 'ha-mode': 'exactly', 'ha-params': options.sessionCopies, 'ha-sync-mode': 'automatic' });
      cluster.ctl(
        cluster.nodes[0]!,
        'set_policy',
        '--apply-to',
        'queues',
        '--priority',
        '10',
        'bench-mqtt-sessions',
        '^mqtt-subscription-',
        definition,
      );
    }
    return {
      label: 'cluster',
      primary,
      replicas,
      deviceUrls,
      rabbit,
      killBrokerNode: async () => {
        const victim = cluster.nodes.at(-1)!;
        const vm = pidsOf(victim.name).filter((pid) => /beam|rabbitmq-server/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
        for (const pid of vm) process.kill(pid, 'SIGKILL');
        await waitFor(() => !victim.running, 10_000, `${victim.name} gone`);
      },
      pids: () => ({
        controlPlanes: replicas.map((r) => r.pid),
        brokers: [...haproxies.map((h) => h.pid!), ...cluster.nodes.filter((n) => n.running).flatMap((n) => pidsOf(n.name))],
      }),
      processes: () => [
        ...replicas.map((r, i) => ({ name: `cp${i + 1}`, pids: [r.pid] })),
        ...cluster.nodes.map((n, i) => ({ name: `rabbit${i + 1}`, pids: n.running ? pidsOf(n.name) : [] })),
        ...haproxies.map((h, i) => ({ name: `haproxy${i + 1}`, pids: [h.pid!] })),
      ],
      metric: async (name) => {
        let sum = 0;
        for (const r of replicas) sum += (await metrics(r).catch(() => new Map<string, number>())).get(name) ?? 0;
        return sum;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * A fleet targeting release 1.0.0 (each device's first `desired/get` brings it) and `devices`
 * registered devices, spread over the shape's MQTT entry points; `target(version)` publishes a
 * release and makes it the fleet's target (the fan-out).
 */
export async function provisionFleet(
  shape: BenchShape,
  devices: number,
): Promise<{ creds: SimCredential[]; target(version: string): Promise<void> }> {
  const { httpUrl, apiKey } = shape.primary;
  const fleet = await createSimFleet(httpUrl, apiKey);
  const target = async (version: string): Promise<void> => {
    const release = await apiJson<ReleaseView>(httpUrl, apiKey, '/api/v1/releases', {
      method: 'POST',
      body: manifest(version),
      headers: { 'content-type': 'application/yaml' },
    });
    await apiJson(
      httpUrl,
      apiKey,
      `/api/v1/fleets/${fleet.id}/target`,
      { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) },
      [200, 202],
    );
  };
  await target('1.0.0');
  const creds = await provisionDevices({ apiUrl: httpUrl, apiKey, fleetId: fleet.id, count: devices, registerConcurrency: 16 });
  return {
    creds: creds.map((c, i) => {
      const mqttUrl = shape.deviceUrls[i % shape.deviceUrls.length]!;
      // A plain listener (cluster `plainMqtt`): no TLS options for the device.
      const { tls, ...plain } = c;
      return mqttUrl.startsWith('mqtts:') && tls ? { ...plain, tls, mqttUrl } : { ...plain, mqttUrl };
    }),
    target,
  };
}

/** Telemetry rows stored (the shape's scratch database holds one benchmark's fleet). */
export async function storedSamples(shape: BenchShape): Promise<number> {
  return (await shape.primary.db.query<{ n: number }>('SELECT count(*)::int AS n FROM telemetry_samples'))[0]!.n;
}

/** CPU seconds and RSS (MiB) summed over processes (a process gone in between counts 0). */
export function usageOf(pids: readonly number[]): { cpuSeconds: number; rssMiB: number } {
  let cpuSeconds = 0;
  let rssMiB = 0;
  for (const pid of pids) {
    try {
      const u = procUsage(pid);
      cpuSeconds += u.cpuSeconds;
      rssMiB += u.rssMiB;
    } catch {
      // gone (a node stopped, a replica restarted)
    }
  }
  return { cpuSeconds, rssMiB };
}

/** The Erlang VM of a RabbitMQ node: the processes started with RABBITMQ_NODENAME=`nodeName` (the VM and its port helpers). */
function pidsOf(nodeName: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`RABBITMQ_NODENAME=${nodeName}`)) out.push(Number(entry));
    } catch {
      // ended while listing, or not ours to read
    }
  }
  return out;
}

function haproxyConfig(mqttFront: number, nodes: number[], auth?: { port: number; replicas: number[]; logged: boolean }): string {
  return [
    'global',
    `  maxconn ${DEVICES_PER_HAPROXY + 500}`,
    ...(auth?.logged ? ['  log stdout format raw local0'] : []),
    'defaults',
    '  timeout connect 5s',
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout check 5s',
    '  default-server inter 1s fall 2 rise 2',
    'frontend mqtt',
    `  bind 127.0.0.1:${mqttFront}`,
    '  mode tcp',
    '  default_backend rabbitmq_mqtt',
    'backend rabbitmq_mqtt',
    '  mode tcp',
    '  balance leastconn',
    ...nodes.map((port, i) => `  server rabbit${i + 1} 127.0.0.1:${port} check`),
    ...(auth
      ? [
          'frontend broker_auth',
          `  bind 127.0.0.1:${auth.port}`,
          '  mode http',
          // Path, status, the replica's response time (ms), the replica, the form (password blanked).
          ...(auth.logged
            ? [
                '  log global',
                '  option http-buffer-request',
                '  http-request set-var(txn.form) req.body,regsub(password=[^&]*,password=-,g)',
                '  log-format "%HP %ST %Tr %s %[var(txn.form)]"',
              ]
            : []),
          '  default_backend control_plane_auth',
          'backend control_plane_auth',
          '  mode http',
          '  balance roundrobin',
          '  retry-on conn-failure empty-response response-timeout',
          '  option redispatch',
          ...auth.replicas.map((port, i) => `  server cp${i + 1} 127.0.0.1:${port} check`),
        ]
      : []),
    '',
  ].join('\n');
}

async function waitTcp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 10 s (haproxy)`);
}

async function end(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}
