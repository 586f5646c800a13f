import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { numberFlags, sleep, waitFor } from './support/control-plane-process';
import { provisionFleet, startCluster, usageOf, type BenchShape } from './support/cluster-shape';
import { LoadFleet } from './support/load-fleet';

/**
 * cluster-connect (issue #14): where the cluster shape's connect storm spends its CPU. N devices are
 * registered (timed apart), then connect through HAProxy to the RabbitMQ nodes (MQTT/TLS) and each
 * receives its desired state; CPU seconds of every process are read from /proc before and after:
 * each control-plane replica, each RabbitMQ VM, HAProxy, the load generator, and the PostgreSQL
 * backends of the bench's database. HAProxy logs every request of RabbitMQ's HTTP auth backend,
 * so the bench counts them per connect and path, with the replicas' response time.
 * Usage: npm run bench -- cluster-connect [--devices 1000] [--processes 2] [--concurrency 500]
 *          [--copies 0] (0: session queues as the control plane's policy ships them, `ha-mode: exactly 2`; n: a bench policy of exactly n copies)
 *          [--cache 5000] (the auth cache's TTL, ms) [--prof 1] (a V8 CPU profile of each replica, see support/profile-summary.ts)
 *          [--plain 1] (devices over plain MQTT, to tell TLS's share)
 *          [--persistent 1] (persistent sessions as the agent keeps them: a quorum queue per device, not a mirrored classic one)
 */
const PHASE_TIMEOUT_MS = 900_000;
const IDLE_WINDOW_MS = 10_000;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), {
    devices: 1000,
    processes: 2,
    concurrency: 500,
    copies: 0,
    cache: 5000,
    prof: 0,
    plain: 0,
    persistent: 0,
  });
  console.log(machineLine());
  const authLog = join(tmpdir(), `flotilla-auth-${process.pid}.log`);
  const shape = await startCluster(flags.devices, {
    authLog,
    authCacheMs: flags.cache,
    ...(flags.copies > 0 ? { sessionCopies: flags.copies } : {}),
    ...(flags.plain ? { plainMqtt: true } : {}),
    ...(flags.prof ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), `flotilla-cluster-prof-${process.pid}`)}`] } : {}),
  });
  if (flags.prof) console.log(`replica CPU profiles (written at exit): ${join(tmpdir(), `flotilla-cluster-prof-${process.pid}`)}`);
  console.log(
    `${flags.devices} devices; session queues: ${flags.copies > 0 ? `exactly ${flags.copies} copies` : 'as shipped (ha-mode exactly 2)'}; auth cache ${flags.cache} ms; ${flags.plain ? 'plain MQTT' : 'MQTT/TLS'}; ${flags.persistent ? 'persistent sessions (as the agent)' : 'clean sessions'}`,
  );
  try {
    let t = performance.now();
    const fleet = await provisionFleet(shape, flags.devices);
    const registerS = (performance.now() - t) / 1000;
    const n = fleet.creds.length;
    const sim = await LoadFleet.start(fleet.creds, flags.processes);
    try {
      const groups = await processGroups(shape, sim);
      // What the processes cost at rest (three VMs, three replicas), to tell the storm's own cost.
      const rest = groups.map((g) => cpuByPid(g.pids()));
      await sleep(IDLE_WINDOW_MS);
      const before = groups.map((g) => cpuByPid(g.pids()));
      const idlePerS = groups.map((_, i) => cpuSince(rest[i]!, before[i]!) / (IDLE_WINDOW_MS / 1000));
      const loggedBefore = readFileSync(authLog, 'utf8').length;
      const reductionsBefore = reductions(shape);
      t = performance.now();
      await sim.connect({
        telemetryEverySeconds: 3600,
        applySeconds: 0.5,
        connectConcurrency: flags.concurrency,
        realistic: false,
        ...(flags.persistent ? { persistentSession: true } : {}),
      });
      await waitFor(async () => (await sim.counts()).desiredReceived >= n, PHASE_TIMEOUT_MS, 'every device holding its desired state', 250);
      const stormS = (performance.now() - t) / 1000;
      const reductionsAfter = reductions(shape);
      const cpu = groups.map((g, i) => ({ name: g.name, s: cpuSince(before[i]!, cpuByPid(g.pids())), idle: idlePerS[i]! * stormS }));
      const server = cpu.filter((c) => !c.name.startsWith('load')).reduce((s, c) => s + c.s, 0);
      console.log(`registered ${n} in ${registerS.toFixed(1)} s; connected, each with its desired state, in ${stormS.toFixed(1)} s`);
      printTable(
        cpu.map((c) => ({
          process: c.name,
          'CPU s': c.s,
          'at rest s': c.idle,
          'ms per device': (c.s * 1000) / n,
          '% of server': c.name.startsWith('load') ? '' : (100 * c.s) / server,
        })),
      );
      const idle = cpu.filter((c) => !c.name.startsWith('load')).reduce((s, c) => s + c.idle, 0);
      console.log(
        `server CPU (all but the load generator): ${server.toFixed(1)} s = ${((server * 1000) / n).toFixed(1)} ms per device connect ` +
          `(${(((server - idle) * 1000) / n).toFixed(1)} ms above the same time at rest)`,
      );
      // Work done, not time: less sensitive to the machine's load than CPU seconds (slow connects still repeat work).
      const perDevice = reductionsAfter.map((r, i) => (r - reductionsBefore[i]!) / n);
      console.log(
        `RabbitMQ reductions per device connect: ${perDevice.map((r) => r.toFixed(0)).join(' + ')} = ${perDevice.reduce((s, r) => s + r, 0).toFixed(0)}`,
      );
      printTable(authCalls(readFileSync(authLog, 'utf8').slice(loggedBefore), n));
    } finally {
      await sim.stop();
    }
  } finally {
    await shape.close();
    rmSync(authLog, { force: true });
  }
}

/** CPU seconds of each process (one gone meanwhile is left out). */
function cpuByPid(pids: readonly number[]): Map<number, number> {
  return new Map(pids.flatMap((pid) => (usageOf([pid]).rssMiB > 0 ? [[pid, usageOf([pid]).cpuSeconds] as const] : [])));
}

/** CPU used between two samples: by the processes in `now`, from their earlier sample (a new one: since it started). */
function cpuSince(earlier: Map<number, number>, now: Map<number, number>): number {
  let s = 0;
  for (const [pid, cpu] of now) s += cpu - (earlier.get(pid) ?? 0);
  return s;
}

/** Each RabbitMQ node's reductions so far (the Erlang VM's count of work units). */
function reductions(shape: BenchShape): number[] {
  const rabbit = shape.rabbit!;
  return rabbit.nodes.map((node) => Number(rabbit.ctl(node, 'eval', 'element(1, erlang:statistics(reductions)).').trim()));
}

/** Named groups of pids, re-read at each sample (a RabbitMQ VM's helpers come and go). */
async function processGroups(shape: BenchShape, sim: LoadFleet): Promise<{ name: string; pids(): number[] }[]> {
  const database = new URL(shape.primary.db.url).pathname.slice(1);
  const backends = (await shape.primary.db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])).map(
    (r) => r.pid,
  );
  const named = shape.processes().map((p) => ({ name: p.name, pids: () => shape.processes().find((q) => q.name === p.name)!.pids }));
  return [
    ...named,
    // The pool's connections are opened at start and kept: those of this database now are those of the storm.
    { name: 'postgres (this db)', pids: () => backends },
    { name: 'load generator', pids: () => sim.pids },
  ];
}

/**
 * HAProxy's log lines (`path status Tr server form`) of the storm, grouped by question (the form's
 * device id written `{id}`): calls per device, with the replicas' mean response time. A question
 * asked twice for one device within the cache's TTL went past rabbitmq_auth_backend_cache.
 */
function authCalls(log: string, devices: number): Record<string, string | number>[] {
  const byQuestion = new Map<string, { calls: number; ms: number; errors: number }>();
  for (const line of log.split('\n')) {
    const [path, status, tr, , form] = line.trim().split(' ');
    if (!path?.startsWith('/') || !status) continue;
    const key = `${path} ${question(path, new URLSearchParams(form ?? ''))}`;
    const entry = byQuestion.get(key) ?? { calls: 0, ms: 0, errors: 0 };
    entry.calls++;
    entry.ms += Math.max(0, Number(tr));
    if (status !== '200') entry.errors++;
    byQuestion.set(key, entry);
  }
  const rows = [...byQuestion]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([q, e]) => ({ question: q, calls: e.calls, 'per device': e.calls / devices, 'mean ms': e.ms / e.calls, 'not 200': e.errors }));
  const all = rows.reduce((s, r) => s + r.calls, 0);
  return [
    ...rows,
    { question: 'all', calls: all, 'per device': all / devices, 'mean ms': '', 'not 200': rows.reduce((s, r) => s + r['not 200'], 0) },
  ];
}

/** What a form asks, without the device: the fields that tell questions apart. */
function question(path: string, form: URLSearchParams): string {
  const id = form.get('username') ?? '';
  const fields =
    path === '/user'
      ? [...form.keys()].filter((k) => k !== 'username').sort()
      : path === '/vhost'
        ? [...form.keys()].filter((k) => k !== 'username' && k !== 'ip').sort()
        : path === '/resource'
          ? [form.get('resource'), form.get('name'), form.get('permission')]
          : [form.get('name'), form.get('permission'), form.get('routing_key')];
  return fields.map((f) => (id ? (f ?? '').split(id).join('{id}') : f)).join(' ');
}

runBench(main);
