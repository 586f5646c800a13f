import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { DeviceEventView, DeviceView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { bundleAgent } from '../../cli/src/images/agent-bundle';
import { AGENT_LAUNCHER, AGENT_MAIN, AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';
import { serveFiles, type FileServer } from '../support/file-server';
import { waitFor } from '../support/wait';
import { testImages } from '../setup/services';

// The agent updates itself under its launcher: real processes (launcher, agents built from
// the real bundle), the control plane's broker over TCP, the real Docker Engine running the
// assembly, which must keep the same containers through every switch and fallback.

jest.setTimeout(240_000);

const docker = new Docker();
const apiKey = 'e2e-operator-key-0123456789abcdef';
const assemblyName = `selfupd-${Date.now().toString(36)}`;
const TRIAL_MS = 12_000;
/** The flotilla command as users run it (the bin shim; it bundles the CLI on first use in a checkout). */
const CLI = join(__dirname, '..', '..', 'cli', 'bin', 'flotilla.js');

let db: ScratchDatabase;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: AgentProcess | undefined;
let files: FileServer;
let workDir: string;
let deviceId: string;
const bundles = new Map<string, { url: string; sha256: string; size: number }>();

/** The real agent bundle with another version string, and `prefix` run before it. */
function variant(bundle: Buffer, version: string, prefix = ''): string {
  const text = bundle.toString();
  const marker = 'exports2.AGENT_VERSION="0.1.0"';
  if (!text.includes(marker)) throw new Error(`the agent bundle no longer holds ${marker}: update this test`);
  const [shebang, ...rest] = text.replace(marker, `exports2.AGENT_VERSION=${JSON.stringify(version)}`).split('\n');
  const file = join(workDir, `agent-${version}.js`);
  writeFileSync(file, [shebang, prefix, ...rest].join('\n'));
  return file;
}

function manifest(version: string, agentVersion?: string): string {
  const a = agentVersion ? bundles.get(agentVersion)! : undefined;
  return `
name: ${assemblyName}
x-flotilla:
  version: ${version}
  update: { probation: 1s }
${a ? `  agent: { version: "${agentVersion}", url: "${a.url}", sha256: "${a.sha256}", size: ${a.size} }` : ''}
services:
  worker:
    image: ${testImages().busybox}
    command: sleep 3600
`;
}

async function device(): Promise<DeviceView> {
  return (await api.get<DeviceView>(`/api/v1/devices/${deviceId}`)).body;
}

async function events(): Promise<DeviceEventView[]> {
  return (await api.get<DeviceEventView[]>(`/api/v1/dashboard/devices/${deviceId}/events?limit=100`)).body;
}

async function containerIds(): Promise<string[]> {
  const list = await docker.listContainers({ filters: { label: [`io.flotilla.assembly=${assemblyName}`] } });
  return list.map((c) => c.Id).sort();
}

/** Publishes and assigns; resolves with the time of the assignment. */
async function assign(version: string, agentVersion?: string): Promise<number> {
  const release = await api.post<ReleaseView>('/api/v1/releases', manifest(version, agentVersion), 'application/yaml');
  expect(release.status).toBe(201);
  const assigned = await api.put<DeviceView>(`/api/v1/devices/${deviceId}/release`, { releaseId: release.body.id });
  expect(assigned.status).toBe(200);
  return Date.now();
}

async function eventAfter(kind: string, version: string, since: number, timeoutMs = 90_000): Promise<DeviceEventView> {
  return waitFor(
    `a ${kind} event for ${version}`,
    async () => (await events()).find((e) => e.kind === kind && e.message.includes(version) && Date.parse(e.at) >= since),
    timeoutMs,
    500,
  ).catch((e: Error) => {
    writeFileSync(join(tmpdir(), `${assemblyName}.log`), agent?.logs ?? '');
    throw new Error(`${e.message}\nagent output (whole in ${assemblyName}.log in the temp dir):\n${agent?.logs.slice(-6_000)}`);
  });
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'flotilla-selfupd-'));
  const bundle = await bundleAgent();
  const good = variant(bundle, '0.2.0-e2e');
  const crashes = variant(bundle, '0.3.0-crashes', 'throw new Error("simulated: this agent build crashes at start");');
  // Starts, runs its assembly, but every TCP connection fails: it never reaches the broker.
  const silent = variant(
    bundle,
    '0.4.0-silent',
    'const net_=require("net"),connect_=net_.Socket.prototype.connect;net_.Socket.prototype.connect=function(...a){const o=Array.isArray(a[0])?a[0][0]:a[0];if(o&&typeof o==="object"&&o.port!==undefined&&!o.path){process.nextTick(()=>this.destroy(new Error("simulated: no route to the control plane")));return this}return connect_.apply(this,a)};',
  );
  // A bundle whose agent is 0.5.0-other, released as 0.5.0-mislabelled.
  const mislabelled = variant(bundle, '0.5.0-other');
  files = await serveFiles([good, crashes, silent, mislabelled]);
  for (const [version, file] of [
    ['0.2.0-e2e', good],
    ['0.3.0-crashes', crashes],
    ['0.4.0-silent', silent],
    ['0.5.0-mislabelled', mislabelled],
  ] as const) {
    const bytes = readFileSync(file);
    bundles.set(version, {
      url: `http://127.0.0.1:${files.port}/${file.split('/').pop()}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    });
  }
  db = await createScratchDatabase('e2e_self_update');
  cp = await startControlPlane({ host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: join(workDir, 'cp'), apiKey });
  api = new ApiClient(cp.httpUrl, apiKey);
});

afterAll(async () => {
  await agent?.dispose(20_000);
  await cp?.close();
  await db?.drop();
  await files?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe('agent self-update', () => {
  let running: string[];

  it('the agent under its launcher registers and runs an assembly', async () => {
    const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 });
    agent = AgentProcess.provisioned(
      workDir,
      { ...token.body.provisioning, name: 'selfupd-board' },
      {
        FLOTILLA_AGENT_TRIAL_MS: String(TRIAL_MS),
        FLOTILLA_REPORT_INTERVAL_MS: '1000',
        // The engine is shared with other tests: this agent manages only its own containers.
        FLOTILLA_SCOPE_LABEL: `io.flotilla.scope=${assemblyName}`,
      },
      [AGENT_LAUNCHER, AGENT_MAIN],
    );
    const online = await waitFor(
      'the agent to come online',
      async () => {
        const list = await api.get<{ items: DeviceView[] }>('/api/v1/devices?search=selfupd-board');
        return list.body.items.find((d) => d.online && d.reported);
      },
      60_000,
    );
    deviceId = online.id;
    expect(online.reported!.agentVersion).toBe('0.1.0');
    await assign('1.0.0');
    running = await waitFor(
      'the assembly to run',
      async () => {
        const ids = await containerIds();
        return (await device()).reported?.update.phase === 'idle' && ids.length === 1 ? ids : undefined;
      },
      90_000,
    );
    expect(running).toHaveLength(1);
  });

  it('to a good version: switches, the new agent reports, commits; the assembly keeps its containers', async () => {
    const at = await assign('1.1.0', '0.2.0-e2e');
    const committed = await eventAfter('agent-update-committed', '0.2.0-e2e', at);
    // Baseline in the same run: the same release's assembly commit (the agent update follows it).
    const assembly = (await events()).find((e) => e.kind === 'update-committed' && Date.parse(e.at) >= at)!;
    const [agentMs, assemblyMs] = [Date.parse(committed.at) - at, Date.parse(assembly.at) - at];
    console.log(
      `agent self-update assign → committed: ${agentMs} ms; baseline assign → assembly committed: ${assemblyMs} ms (×${(agentMs / assemblyMs).toFixed(1)})`,
    );
    expect((await device()).reported!.agentVersion).toBe('0.2.0-e2e');
    expect(await containerIds()).toEqual(running);
    // The operator sees it in the CLI (the dashboard's device page reads the same reported state).
    const cli = await promisify(execFile)(process.execPath, [CLI, 'devices', 'show', deviceId], {
      env: { PATH: process.env.PATH, HOME: workDir, FLOTILLA_API: cp.httpUrl, FLOTILLA_API_KEY: apiKey },
    });
    expect(cli.stdout).toMatch(/^agent\s+0\.2\.0-e2e$/m);
  });

  it('to a version that crashes at start: falls back to the running one and reports why', async () => {
    const at = await assign('1.2.0', '0.3.0-crashes');
    const failed = await eventAfter('agent-update-failed', '0.3.0-crashes', at);
    console.log(`agent self-update (crash) assign → fallen back, reported: ${Date.parse(failed.at) - at} ms`);
    expect(failed.message).toContain('0.3.0-crashes');
    expect(failed.message).toContain('crashed at start');
    expect((await device()).reported!.agentVersion).toBe('0.2.0-e2e');
    expect(await containerIds()).toEqual(running);
  });

  it('to a version that never connects: stopped at the deadline, falls back, reports why', async () => {
    const at = await assign('1.3.0', '0.4.0-silent');
    const failed = await eventAfter('agent-update-failed', '0.4.0-silent', at);
    console.log(
      `agent self-update (never connects) assign → fallen back, reported: ${Date.parse(failed.at) - at} ms (trial deadline ${TRIAL_MS} ms)`,
    );
    expect(failed.message).toContain('0.4.0-silent');
    expect(failed.message).toContain(`did not connect and report within ${TRIAL_MS / 1000} s`);
    expect((await device()).reported!.agentVersion).toBe('0.2.0-e2e');
    expect(await containerIds()).toEqual(running);
    // The failed build is not tried again while the release still names it (the agent says so when it looks).
    await waitFor(
      'the agent to see the failed build named again',
      async () => (agent!.logs.includes('failed here; staying') ? true : undefined),
      30_000,
    );
    const attempts = (await events()).filter((e) => e.kind === 'agent-update-started' && e.message.includes('0.4.0-silent'));
    expect(attempts).toHaveLength(1);
  });

  it('to a bundle whose agent is another version than the release names: falls back at once, saying so', async () => {
    const at = await assign('1.4.0', '0.5.0-mislabelled');
    const failed = await eventAfter('agent-update-failed', '0.5.0-mislabelled', at);
    console.log(`agent self-update (version mismatch) assign → fallen back, reported: ${Date.parse(failed.at) - at} ms`);
    expect(failed.message).toContain("the bundle's agent says it is version 0.5.0-other, not the 0.5.0-mislabelled its release names");
    expect(Date.parse(failed.at) - at).toBeLessThan(TRIAL_MS);
    expect((await device()).reported!.agentVersion).toBe('0.2.0-e2e');
    expect(await containerIds()).toEqual(running);
  });
});
