import { minimalComponent } from '@flotilla/shared';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import type { ChannelPayload, DeviceChannel } from '@flotilla/shared';
import { Agent } from '../src/agent';
import { AGENT_NODE_ENV, AGENT_NODE_FLAGS } from '@flotilla/shared';
import { request } from '../src/cli/client';
import { DockerRuntime } from '../src/runtime/docker-runtime';
import { EngineClient } from '../src/runtime/engine-client';
import { systemClock } from '../src/support/clock';
import { silentLogger } from '../src/support/logger';
import { pushUniqueImage } from '../src/testing/images';
import { signedDesired, testSigner } from '../src/testing/releases';
import { AgentProcess } from '../src/testing/agent-process';
import { PassThroughOutbox } from '../src/testing/pass-through-outbox';
import { ImageLedger } from '../src/update/image-ledger';
import { UpdateJournal } from '../src/update/journal';
import { registryFacts } from '../src/update/registry-facts';
import { machineLine, median, printTable, runBench } from '../../test/bench/machine';
import { bundleAgent } from '../../cli/src/images/agent-bundle';

// The agent's own cost, measured against the real Docker Engine and local registry:
//  1. idle RSS and CPU of the agent process with one assembly running, connected to a
//     broker, telemetry every 10 s: once from agent/dist with node_modules, once as the
//     single esbuild bundle a device runs (cli/src/images/agent-bundle.ts);
//  2. the time an A/B update adds on top of what the engine must do anyway (pull the
//     images, create and start the containers) and the probation window;
//  3. the time from a failed health gate to the old slot running again.
//  0. the baseline, in the same run: a bare `node` (same flags) doing nothing but a timer.
// Usage: npm run bench -- agent [idle-seconds=30] [runs=3]
//   FLOTILLA_BENCH_COMPARE=DIR/agent/dist/main.js also measures the bundle of another build (an
//   older checkout), for a before/after in one sitting.
//   FLOTILLA_BENCH_NODE_ENV=0 starts every process (bare node too) without AGENT_NODE_ENV (malloc settings).
//   FLOTILLA_BENCH_NODE="qemu-aarch64-static -L ROOT ROOT/usr/bin/node" runs every process (the
//   bare-node baseline too) with another node, e.g. the device's arm64 Node under QEMU user
//   emulation (whose RSS then includes the emulator's: compare with the baseline of that run).

const IDLE_S = Number(process.argv[2] ?? 30);
/** V8 flags for the agent process, as its unit file or Dockerfile passes them (see agent/README.md). */
const NODE_FLAGS = (process.env.FLOTILLA_AGENT_NODE_FLAGS ?? AGENT_NODE_FLAGS.join(' ')).split(' ').filter(Boolean);
/** The agent's environment as its unit file sets it (shared/src/agent-node-flags.ts), unless turned off for a comparison. */
const NODE_ENV: Record<string, string> = process.env.FLOTILLA_BENCH_NODE_ENV === '0' ? {} : { ...AGENT_NODE_ENV };
const RUNS = Number(process.argv[3] ?? 3);
const [NODE, ...NODE_PREFIX] = (process.env.FLOTILLA_BENCH_NODE ?? process.execPath).split(' ').filter(Boolean) as [string, ...string[]];
const ROOT = join(__dirname, '../..');
const run = randomBytes(3).toString('hex');
const scope = { 'io.flotilla.test-run': `bench${run}` };
const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: scope });
const signer = testSigner();
const SERVE = ['sh', '-c', 'exec sleep 3600'];
const mb = (kb: number) => (kb / 1024).toFixed(1);

async function cleanup(images: string[]): Promise<void> {
  for (const c of await runtime.listContainers()) await runtime.remove(c.name);
  for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
  for (const image of images) await runtime.removeImage(image).catch(() => undefined);
}

function cpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of /proc/PID/stat)
}

/** The agent's entry points to measure: the compiled tree, and the bundle built from it. */
async function entries(dir: string): Promise<Array<{ label: string; path: string }>> {
  const dist = join(ROOT, 'agent/dist/main.js');
  if (!existsSync(dist) || spawnSync('npx', ['tsc', '-b', 'agent'], { cwd: ROOT, stdio: 'inherit' }).status !== 0) {
    throw new Error('cannot build agent/dist: run `npm run build` first');
  }
  const bundle = join(dir, 'agent.js');
  await writeFile(bundle, await bundleAgent(dist));
  const compare = process.env.FLOTILLA_BENCH_COMPARE;
  const other = join(dir, 'compare.js');
  if (compare) await writeFile(other, await bundleAgent(compare));
  return [
    { label: 'agent/dist + node_modules', path: dist },
    { label: 'bundle, as on a device', path: bundle },
    ...(compare ? [{ label: `bundle of ${compare}`, path: other }] : []),
  ];
}

/** RSS of `node` itself with the agent's flags, idle on a timer: what no agent can go below. */
async function bareNode(): Promise<{ row: Record<string, string | number>; rssKb: number }> {
  const child = spawn(NODE, [...NODE_PREFIX, ...NODE_FLAGS, '-e', 'setInterval(() => {}, 1000)'], {
    env: { ...process.env, ...NODE_ENV },
    stdio: 'ignore',
  });
  try {
    let max = { rss: 0, anon: 0, file: 0 };
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      const m = await rssOf(child.pid!);
      if (m.rss > max.rss) max = m;
    }
    return {
      row: {
        measure: `baseline: bare ${[NODE, ...NODE_PREFIX].join(' ')}, idle timer (node ${NODE_FLAGS.join(' ') || 'defaults'}; ${envLabel()})`,
        value: `RSS max ${mb(max.rss)} MB (anon ${mb(max.anon)}, file ${mb(max.file)})`,
        note: '',
      },
      rssKb: max.rss,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

function envLabel(): string {
  return Object.keys(NODE_ENV).length ? 'AGENT_NODE_ENV' : 'no malloc env';
}

async function rssOf(pid: number): Promise<{ rss: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function idle(image: string, entry: { label: string; path: string }, baselineKb: number): Promise<Record<string, string | number>> {
  const broker = await Aedes.createBroker();
  broker.authenticate = (_c, _u, _p, done) => done(null, true);
  const server = createServer((s) => broker.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let telemetry = 0;
  broker.on('publish', (packet) => {
    if (packet.topic.endsWith('/telemetry')) telemetry++;
  });
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-'));
  await AgentProcess.prepare(dir, [signer.key]);
  const port = (server.address() as AddressInfo).port;
  const credential = JSON.parse(await readFile(join(dir, 'credential.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(dir, 'credential.json'), JSON.stringify({ ...credential, mqttUrl: `mqtt://127.0.0.1:${port}` }), { mode: 0o600 });
  const child = spawn(NODE, [...NODE_PREFIX, ...NODE_FLAGS, entry.path], {
    env: {
      ...NODE_ENV,
      PATH: process.env.PATH ?? '',
      FLOTILLA_STATE_DIR: dir,
      FLOTILLA_PROVISIONING: join(dir, 'none.json'),
      FLOTILLA_SCOPE_LABEL: `io.flotilla.test-run=bench${run}`,
      FLOTILLA_TELEMETRY_INTERVAL_MS: '10000',
      FLOTILLA_TELEMETRY_SAMPLE_MS: '10000',
      FLOTILLA_LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  try {
    // Up to three minutes: Node under emulation, interpreting only (lite mode), on a loaded machine takes a minute to start.
    for (let i = 0; i < 1800 && !existsSync(join(dir, 'agent.sock')); i++) await new Promise((r) => setTimeout(r, 100));
    const desired = signedDesired(signer, 1, [minimalComponent('web', image, { command: SERVE })], {
      name: `bench${run}`,
      probationMs: 500,
    });
    await request(dir, { op: 'apply', desired });
    for (let i = 0; i < 200; i++) {
      const reply = await request(dir, { op: 'status' });
      if (reply.ok && (reply.result as { update: { phase: string; active: unknown } }).update.active) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 10_000)); // settle: inventory, first telemetry
    const hz = 100; // USER_HZ on Linux
    const t0 = Date.now();
    const c0 = cpuTicks(await readFile(`/proc/${child.pid}/stat`, 'utf8'));
    // RSS splits into the process's own memory (RssAnon: V8 heap, malloc) and file pages
    // (RssFile: mostly the node binary's code, shared with any other node process, and
    // evictable); both are reported at the highest RSS seen.
    let max = { rss: 0, anon: 0, file: 0 };
    while (Date.now() - t0 < IDLE_S * 1000) {
      const m = await rssOf(child.pid!);
      if (m.rss > max.rss) max = m;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const c1 = cpuTicks(await readFile(`/proc/${child.pid}/stat`, 'utf8'));
    const seconds = (Date.now() - t0) / 1000;
    return {
      measure: `agent idle, ${entry.label}, 1 component, telemetry 10 s (${Math.round(seconds)} s; node ${NODE_FLAGS.join(' ') || 'defaults'}; ${envLabel()})`,
      value: `RSS max ${mb(max.rss)} MB (anon ${mb(max.anon)}, file ${mb(max.file)}), CPU ${((((c1 - c0) / hz) * 100) / seconds).toFixed(2)} %`,
      note: `${telemetry} telemetry batches received; ${(max.rss / baselineKb).toFixed(2)}× bare node`,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await new Promise<void>((r) => server.close(() => r()));
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function inProcessAgent(dir: string): Promise<{ agent: Agent; events: { kind: string; phase?: string; at: number }[] }> {
  const events: { kind: string; phase?: string; at: number }[] = [];
  const agent = new Agent({
    deviceId: 'dev_bench',
    runtime,
    journal: new UpdateJournal(dir),
    ledger: new ImageLedger(dir),
    clock: systemClock,
    logger: silentLogger,
    releaseKeys: [signer.key],
    board: undefined,
    freeDiskBytes: async () => Number.MAX_SAFE_INTEGER,
    imageFacts: (ref, arch) => registryFacts(ref, arch),
    outbox: new PassThroughOutbox(),
    collectInventory: async () => {
      throw new Error('not measured');
    },
    sampleTelemetry: async () => ({ at: new Date().toISOString(), cpuPercent: 0, memUsedBytes: 0, memTotalBytes: 1 }),
    settings: { gatePollMs: 250, healthPollMs: 250, reportIntervalMs: 60_000, reconcileIntervalMs: 600_000 },
  });
  await agent.start({
    connected: true,
    publish: <C extends DeviceChannel>(channel: C, value: ChannelPayload<C>) => {
      if (channel === 'events') {
        const e = value as ChannelPayload<'events'>;
        events.push({ kind: e.kind, ...(e.phase ? { phase: e.phase } : {}), at: performance.now() });
      }
    },
  });
  return { agent, events };
}

/** What the engine needs anyway for the same work: pull, create, start. */
async function engineBaseline(image: string, components: number): Promise<number> {
  const start = performance.now();
  await runtime.pullImage(image);
  const names: string[] = [];
  for (let i = 0; i < components; i++) {
    const name = `flotilla_base${run}_${i}`;
    names.push(name);
    await runtime.createAndStart({
      name,
      assembly: `base${run}`,
      spec: minimalComponent(`b${i}`, image, { command: SERVE, networks: [] }),
      labels: { 'io.flotilla.managed': 'true' },
    });
  }
  const ms = performance.now() - start;
  for (const name of names) await runtime.remove(name);
  await runtime.removeImage(image);
  return ms;
}

async function updates(): Promise<Array<Record<string, string | number>>> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-up-'));
  const { agent, events } = await inProcessAgent(dir);
  const images: string[] = [];
  const overhead: number[] = [];
  const rollback: number[] = [];
  const PROBATION = 2_000;
  const COMPONENTS = 2;
  let rev = 0;
  const release = (image: string, healthy = true) =>
    signedDesired(
      signer,
      ++rev,
      Array.from({ length: COMPONENTS }, (_, i) =>
        minimalComponent(`c${i}`, image, {
          command: SERVE,
          ...(healthy ? {} : { healthcheck: { test: ['CMD', 'false'], intervalMs: 200, retries: 1 } }),
        }),
      ),
      { name: `bench${run}`, probationMs: PROBATION },
    );
  try {
    const first = await pushUniqueImage(`flotilla-bench/${run}-0`);
    images.push(first);
    agent.desire(release(first));
    await agent.updater.settled();
    for (let i = 1; i <= RUNS; i++) {
      const [image, twin] = await Promise.all([
        pushUniqueImage(`flotilla-bench/${run}-${i}`),
        pushUniqueImage(`flotilla-bench/${run}-${i}-twin`),
      ]);
      images.push(image, twin);
      const baseline = await engineBaseline(twin, COMPONENTS);
      const start = performance.now();
      agent.desire(release(image));
      await agent.updater.settled();
      overhead.push(performance.now() - start - baseline - PROBATION);

      const bad = await pushUniqueImage(`flotilla-bench/${run}-${i}-bad`);
      images.push(bad);
      events.length = 0;
      agent.desire(release(bad, false));
      await agent.updater.settled();
      const failed = events.find((e) => e.kind === 'update-phase' && e.phase === 'rollback');
      const back = events.find((e) => e.kind === 'update-rolled-back');
      if (failed && back) rollback.push(back.at - failed.at);
    }
  } finally {
    await agent.stop();
    await cleanup(images);
    await rm(dir, { recursive: true, force: true });
  }
  const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
  return [
    {
      measure: `update overhead over pull+create+start+probation (${COMPONENTS} components, ${RUNS} runs)`,
      value: fmt(overhead),
      note: 'verify, journal fsyncs, gate polling, GC',
    },
    {
      measure: `failed gate → old slot running (${COMPONENTS} components, ${RUNS} runs)`,
      value: fmt(rollback),
      note: 'images on disk, no network',
    },
  ];
}

async function main(): Promise<void> {
  const image = await pushUniqueImage(`flotilla-bench/${run}-idle`);
  const rows: Array<Record<string, string | number>> = [];
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-bench-bundle-'));
  try {
    const baseline = await bareNode();
    rows.push(baseline.row);
    for (const entry of await entries(dir)) rows.push(await idle(image, entry, baseline.rssKb));
  } finally {
    await cleanup([image]);
    await rm(dir, { recursive: true, force: true });
  }
  if (process.env.FLOTILLA_BENCH_ONLY !== 'idle') rows.push(...(await updates()));
  console.log(machineLine());
  printTable(rows);
}

runBench(main);
