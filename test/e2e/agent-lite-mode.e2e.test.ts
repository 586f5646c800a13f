import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { AGENT_NODE_ENV, AGENT_NODE_FLAGS, type DeviceView, type ProvisioningTokenView, type ReleaseView } from '@flotilla/shared';
import { bundleAgent } from '../../cli/src/images/agent-bundle';
import type { RunningControlPlane } from '../../control-plane/src/bootstrap';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { GENERATED_TLS, startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { deriveImage, type DerivedImage } from '../support/derived-image';
import { serveFiles, type FileServer } from '../support/file-server';
import { makeTestTls, type TestTls } from '../support/test-tls';
import { waitFor } from '../support/wait';
import { testImages } from '../setup/services';

// The agent runs with AGENT_NODE_FLAGS, --lite-mode among them, where WebAssembly does not
// exist (and with it Node's fetch). This proves the paths that make HTTP requests work there,
// as a device runs them (the esbuild bundle): registration over HTTPS against the pinned CA,
// an update whose image the engine must pull (VERIFY asks the registry first), and an OS
// image download over HTTPS resumed with a Range request. Real TLS, PostgreSQL, Docker Engine.

jest.setTimeout(180_000);

const AGENT_DIST = join(__dirname, '..', '..', 'agent', 'dist');
const docker = new Docker();
const apiKey = 'e2e-lite-operator-key-0123456789abcdef';
const assemblyName = `e2e-lite-${Date.now().toString(36)}`;

let stack: E2eStack | undefined;
let workDir: string;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: AgentProcess | undefined;
let image: DerivedImage | undefined;
let files: FileServer | undefined;
let tls: TestTls;

async function removeImage(): Promise<void> {
  if (image)
    await docker
      .getImage(image.ref)
      .remove({ force: true })
      .catch(() => undefined);
}

beforeAll(async () => {
  stack = await startE2eStack('lite', apiKey, GENERATED_TLS);
  ({ workDir, cp, api } = stack);
  tls = await makeTestTls();
});

afterAll(async () => {
  await agent?.dispose();
  await removeImage();
  await files?.close();
  await stopE2eStack(stack);
});

/** Runs `main` (a CommonJS file) bundled as the agent is, with the agent's flags; answers its stdout. */
async function runBundled(main: string, env: Record<string, string>): Promise<string> {
  const bundle = join(workDir, 'harness.js');
  writeFileSync(bundle, await bundleAgent(main));
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, bundle], {
    env: { ...process.env, ...AGENT_NODE_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the bundled harness exited ${code}:\n${out}`);
  return out;
}

describe('the agent bundle under AGENT_NODE_FLAGS (lite mode: no WebAssembly, no fetch)', () => {
  it('registers over HTTPS, connects over MQTT/TLS and applies an update whose image it must pull', async () => {
    expect(AGENT_NODE_FLAGS).toContain('--lite-mode');
    // An image no engine has yet (the same bytes every run: removed again below), so FETCH really pulls.
    image = await deriveImage(testImages().busybox, { layer: 0, file: 'bin/busybox', append: 'lite-mode e2e' }, 'e2e-lite-mode');
    await removeImage();
    const bundle = join(workDir, 'agent.js');
    writeFileSync(bundle, await bundleAgent(join(AGENT_DIST, 'main.js')));
    const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 });
    expect(token.body.provisioning.apiUrl).toBe(cp.tls!.httpsUrl);
    agent = AgentProcess.provisioned(
      workDir,
      { ...token.body.provisioning, name: 'lite-board' },
      { ...AGENT_NODE_ENV, FLOTILLA_SCOPE_LABEL: `io.flotilla.scope=${assemblyName}` },
      [...AGENT_NODE_FLAGS, bundle],
    );
    const online = await waitFor(
      'the agent to register and come online',
      async () => (await api.get<{ items: DeviceView[] }>('/api/v1/devices?search=lite-board')).body.items.find((d) => d.online),
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.logs}`);
    });

    const yaml = `name: ${assemblyName}\nx-flotilla:\n  version: 1.0.0\n  update: { probation: 1s }\nservices:\n  app:\n    image: ${image.ref}\n    command: sleep 3600\n`;
    const release = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
    expect(release.status).toBe(201);
    const rev = (await api.put<DeviceView>(`/api/v1/devices/${online.id}/release`, { releaseId: release.body.id })).body.desired.rev;
    await waitFor(
      'the release to run',
      async () => {
        const update = (await api.get<DeviceView>(`/api/v1/devices/${online.id}`)).body.reported?.update;
        return update?.phase === 'idle' && update.active?.rev === rev ? true : undefined;
      },
      90_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.logs}`);
    });
    expect((await docker.getImage(image.ref).inspect()).Id).toBe(image.configDigest);
    expect(agent.running).toBe(true);
    expect(agent.logs).not.toMatch(/WebAssembly|fetch failed/);
  });

  it('downloads an OS image over HTTPS into a slot, resuming from its checkpoint with a Range request', async () => {
    const imageFile = join(workDir, 'os-2.0.0.img');
    const bytes = randomBytes(8 * 1024 * 1024);
    writeFileSync(imageFile, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    files = await serveFiles([imageFile], tls.server);
    // An earlier attempt wrote 3 MiB and checkpointed them (slot-writer.ts resumes from there).
    const slot = join(workDir, 'slot-b.img');
    const checkpoint = join(workDir, 'os-update.checkpoint.json');
    const resumeAt = 3 * 1024 * 1024;
    writeFileSync(slot, bytes.subarray(0, resumeAt));
    writeFileSync(checkpoint, JSON.stringify({ sha256, written: resumeAt }));

    const harness = join(workDir, 'os-download.js');
    writeFileSync(
      harness,
      `const { httpImageSource } = require(${JSON.stringify(join(AGENT_DIST, 'os-update', 'os-updater.js'))});
const { writeSlot } = require(${JSON.stringify(join(AGENT_DIST, 'os-update', 'slot-writer.js'))});
const job = JSON.parse(process.env.OS_DOWNLOAD_JOB);
writeSlot({ target: job.slot, image: job.image, open: httpImageSource(job.image, job.ca), checkpointPath: job.checkpoint })
  .then((r) => console.log(JSON.stringify({ ...r, webAssembly: typeof WebAssembly })))
  .catch((e) => { console.error(e.stack); process.exit(1); });
`,
    );
    const job = {
      slot,
      checkpoint,
      ca: [tls.caPem],
      image: { url: `https://127.0.0.1:${files.port}/os-2.0.0.img`, sha256, size: bytes.length },
    };
    const out = await runBundled(harness, { OS_DOWNLOAD_JOB: JSON.stringify(job) });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ resumedAt: resumeAt, webAssembly: 'undefined' });
    expect(files.requests).toEqual([`GET /os-2.0.0.img bytes=${resumeAt}-`]);
    expect(createHash('sha256').update(readFileSync(slot)).digest('hex')).toBe(sha256);
  });

  it('reaches the broker over MQTT on a WebSocket (wss), whose code the bundle loads only then', async () => {
    const harness = join(workDir, 'wss.js');
    writeFileSync(
      harness,
      `const mqtt = require(${JSON.stringify(require.resolve('mqtt'))});
const c = mqtt.connect(process.env.WSS_URL, { ca: JSON.parse(process.env.CA), username: 'nobody', password: 'wrong-password', reconnectPeriod: 0, writeCache: false });
c.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(0); });
c.on('connect', () => { console.log(JSON.stringify({ connected: true })); process.exit(0); });
`,
    );
    const out = await runBundled(harness, { WSS_URL: cp.tls!.mqttWssUrl, CA: JSON.stringify(cp.tls!.caCertificates) });
    // A CONNACK refusing this unknown client: TLS, the WebSocket and MQTT all worked.
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ error: expect.stringMatching(/^Connection refused: /) });
  });
});
