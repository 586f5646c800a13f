import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_NODE_ENV, AGENT_NODE_FLAGS, type DeviceView, type ProvisioningTokenView, type ReleaseView } from '@flotilla/shared';
import { EngineClient } from '../src/runtime/engine-client';
import { DockerRuntime } from '../src/runtime/docker-runtime';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { testImages } from '../../test/setup/services';
import { bundleAgent } from '../../cli/src/images/agent-bundle';
import { ControlPlaneProcess, numberFlags, waitFor } from '../../control-plane/bench/support/control-plane-process';
import { rssTrend, type RssSample } from './support/rss-trend';

// agent-soak: the agent bundle (as on a device, with AGENT_NODE_FLAGS) registered with a real
// control plane (child process, scratch PostgreSQL), reporting every 10 s, sending telemetry every
// 10 s, and given a new desired state (two releases in turn) every `--desired-every-s`. Its RSS is
// sampled from /proc every 5 s; after the warm-up the bench fails (exit 1) when RSS grew more than
// `--max-growth-mb` (the median of the last window against the median of the first one).
// Usage: npm run bench -- agent-soak [--minutes 60] [--warmup-minutes 10] [--desired-every-s 60]
//        bash agent/bench/agent-soak-24h.sh   (the same for 24 hours)

const SAMPLE_MS = 5_000;
const run = randomBytes(3).toString('hex');
const scope = `io.flotilla.test-run=soak${run}`;

function rss(pid: number): Promise<{ rssKb: number; anonKb: number }> {
  return readFile(`/proc/${pid}/status`, 'utf8').then((status) => {
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rssKb: kb('VmRSS'), anonKb: kb('RssAnon') };
  });
}

async function api<T>(cp: ControlPlaneProcess, path: string, method = 'GET', body?: string, type = 'application/json'): Promise<T> {
  const res = await fetch(`${cp.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${cp.apiKey}`, ...(body ? { 'content-type': type } : {}) },
    ...(body ? { body } : {}),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function manifest(version: string): string {
  return `name: soak${run}\nx-flotilla: { version: ${version}, update: { probation: 1s } }\nservices:\n  web:\n    image: ${testImages().busybox}\n    environment: [VERSION=${version}]\n    command: sleep 3600\n`;
}

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { minutes: 60, 'warmup-minutes': 10, 'desired-every-s': 60, 'max-growth-mb': 2 });
  console.log(machineLine());
  const durationMs = flags.minutes * 60_000;
  const warmupMs = Math.min(flags['warmup-minutes'] * 60_000, durationMs / 3);
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-soak-'));
  const cp = await ControlPlaneProcess.start();
  const runtime = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { [scope.split('=')[0]!]: scope.split('=')[1]! } });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const bundle = join(dir, 'agent.js');
    await writeFile(bundle, await bundleAgent(join(__dirname, '../dist/main.js')));
    const token = await api<ProvisioningTokenView>(cp, '/api/v1/provisioning-tokens', 'POST', JSON.stringify({ maxUses: 1 }));
    const name = `soak-${run}`;
    await writeFile(join(dir, 'provisioning.json'), JSON.stringify({ ...token.provisioning, name }));
    child = spawn(process.execPath, [...AGENT_NODE_FLAGS, bundle], {
      env: {
        ...AGENT_NODE_ENV,
        PATH: process.env.PATH ?? '',
        FLOTILLA_PROVISIONING: join(dir, 'provisioning.json'),
        FLOTILLA_STATE_DIR: join(dir, 'state'),
        FLOTILLA_STATUS_DIR: join(dir, 'run'),
        FLOTILLA_SCOPE_LABEL: scope,
        FLOTILLA_TELEMETRY_INTERVAL_MS: '10000',
        FLOTILLA_TELEMETRY_SAMPLE_MS: '2000',
        FLOTILLA_REPORT_INTERVAL_MS: '10000',
        FLOTILLA_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const pid = child.pid!;
    let device: DeviceView | undefined;
    await waitFor(
      async () => {
        const list = await api<{ items: DeviceView[] }>(cp, `/api/v1/devices?search=${name}`);
        device = list.items.find((d) => d.name === name && d.online);
        return !!device;
      },
      60_000,
      'the agent registered and online',
      500,
    );
    const releases = await Promise.all(
      ['1.0.0', '1.0.1'].map((v) => api<ReleaseView>(cp, '/api/v1/releases', 'POST', manifest(v), 'application/yaml')),
    );
    let assigned = 0;
    let applied = 0;
    const assign = async (): Promise<void> => {
      const release = releases[assigned++ % 2]!;
      const d = await api<DeviceView>(cp, `/api/v1/devices/${device!.id}/release`, 'PUT', JSON.stringify({ releaseId: release.id }));
      const rev = d.desired.rev;
      await waitFor(
        async () => {
          const now = await api<DeviceView>(cp, `/api/v1/devices/${device!.id}`);
          return now.reported?.update.phase === 'idle' && now.reported.update.active?.rev === rev;
        },
        120_000,
        `release ${release.version} (rev ${rev}) running`,
        500,
      );
      applied++;
    };
    await assign();
    console.log(`agent ${device!.id} online and running ${releases[0]!.version}; soaking ${flags.minutes} min`);

    const samples: RssSample[] = [];
    const t0 = Date.now();
    let nextDesired = t0 + flags['desired-every-s'] * 1000;
    let nextPrint = t0 + warmupMs;
    while (Date.now() - t0 < durationMs) {
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}) during the soak`);
      const { rssKb, anonKb } = await rss(pid);
      samples.push({ atMs: Date.now() - t0, rssKb, anonKb });
      if (Date.now() >= nextDesired) {
        await assign();
        nextDesired += flags['desired-every-s'] * 1000;
      }
      if (Date.now() >= nextPrint) {
        console.log(
          `${((Date.now() - t0) / 60_000).toFixed(0)} min: RSS ${(rssKb / 1024).toFixed(1)} MB (anon ${(anonKb / 1024).toFixed(1)}), ${applied} desired states applied`,
        );
        nextPrint += Math.max(60_000, durationMs / 12);
      }
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const trend = rssTrend(samples, warmupMs);
    printTable([
      {
        measure: `agent bundle RSS over ${flags.minutes} min (warm-up ${(warmupMs / 60_000).toFixed(1)} min, ${samples.length} samples, ${applied} desired states applied)`,
        value: `first window median ${trend.firstMb.toFixed(1)} MB → last ${trend.lastMb.toFixed(1)} MB (growth ${trend.growthMb.toFixed(2)} MB; anon ${trend.anonGrowthMb.toFixed(2)}); max after warm-up ${trend.maxMb.toFixed(1)} MB; slope ${trend.slopeMbPerHour.toFixed(2)} MB/h`,
      },
    ]);
    if (trend.growthMb > flags['max-growth-mb'])
      throw new Error(`FAIL: RSS grew ${trend.growthMb.toFixed(2)} MB after warm-up (limit ${flags['max-growth-mb']} MB)`);
    console.log(`PASS: RSS growth ${trend.growthMb.toFixed(2)} MB after warm-up (limit ${flags['max-growth-mb']} MB)`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    for (const c of await runtime.listContainers()) await runtime.remove(c.name);
    for (const n of await runtime.listNetworks()) await runtime.removeNetwork(n.name);
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  }
}

runBench(main);
