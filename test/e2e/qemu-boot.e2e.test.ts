import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEventView, DeviceView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { buildImage } from '../../cli/src/images/build-image';
import { buildOsImage, sha256Of } from '../../cli/src/images/build-os-image';
import { ApiClient } from '../support/api-client';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';
import { serveFiles, type FileServer } from '../support/file-server';
import { waitFor } from '../support/wait';
import { TEST_APT_CACHE } from '../integration/images/fixtures';
import { guestKit } from './qemu/guest-kit';
import { PowerCycledBoard } from './qemu/power-cycled-board';

// The board story end to end under emulation: `flotilla image build` makes the
// qemu-arm64-virt image, qemu-system-aarch64 -M virt boots it (Debian's arm64 kernel;
// an initramfs plays the `file` backend's boot stage and the init system), and the agent
// inside the guest, on Debian's arm64 Node, registers with the control plane running on
// this host (QEMU user networking: the guest's 10.0.2.2 is the host's 127.0.0.1). Then an
// OS update through a release, to slot B, that commits. A trial that fails and falls back is
// shown end to end on the Raspberry Pi board (qemu-rpi-tryboot.e2e.test.ts, twice), and for
// this board's `file` backend by agent/src/os-update/os-updater.int.test.ts.
jest.setTimeout(600_000);

const apiKey = 'qemu-e2e-operator-key-0123456789abcdef';
/**
 * Seconds a trial boot may stay uncommitted before the guest's watchdog reboots it, read from the
 * kernel command line at each power-on. A good trial commits about 20 s after power-on here, but an
 * emulated CPU on a loaded CI machine can be several times slower: a tight deadline would fail a
 * good OS.
 */
const trialDeadline = 120;
const HOST_FROM_GUEST = '10.0.2.2';

let dir: string;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let api: ApiClient;
let files: FileServer;
let guest: PowerCycledBoard | undefined;
let deviceId: string;
const timings: Record<string, string> = {};

const guestUrl = (url: string) => url.replace('127.0.0.1', HOST_FROM_GUEST).replace('localhost', HOST_FROM_GUEST);

async function device(): Promise<DeviceView> {
  const res = await api.get<DeviceView>(`/api/v1/devices/${deviceId}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function events(): Promise<DeviceEventView[]> {
  const res = await api.get<DeviceEventView[]>(`/api/v1/dashboard/devices/${deviceId}/events?limit=100`);
  expect(res.status).toBe(200);
  return res.body;
}

/** An OS-only release: no components, one OS image for the board. */
async function publishOs(version: string, image: { sha256: string; size: number; file: string }): Promise<ReleaseView> {
  const yaml = `
name: qemu-os
services: {}
x-flotilla:
  version: ${version}
  update: { probation: 0s }
  os:
    - board: qemu-arm64-virt
      version: "${version}"
      url: http://${HOST_FROM_GUEST}:${files.port}/${image.file}
      sha256: ${image.sha256}
      size: ${image.size}
`;
  const res = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
  if (res.status !== 201) throw new Error(`release ${version}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function assign(release: ReleaseView): Promise<void> {
  const res = await api.put(`/api/v1/devices/${deviceId}/release`, { releaseId: release.id });
  expect(res.status).toBe(200);
}

const failWithConsole = (e: Error): never => {
  throw new Error(`${e.message}\n--- guest console (tail) ---\n${guest?.tail(6000) ?? '(no guest)'}`);
};

beforeAll(async () => {
  execFileSync('qemu-system-aarch64', ['--version']); // installed by test/setup/ensure-services.sh (qemu-system-arm)
  dir = mkdtempSync(join(tmpdir(), 'flotilla-qemu-'));
  db = await createScratchDatabase('e2e_qemu');
  cp = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    mqttPort: 0,
    databaseUrl: db.url,
    dataDir: join(dir, 'control-plane'),
    apiKey,
  });
  api = new ApiClient(cp.httpUrl, apiKey);

  const kit = await guestKit(TEST_APT_CACHE);
  const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 });
  expect(token.status).toBe(201);
  // The control plane's own address is loopback here; the board reaches it through QEMU's gateway.
  const provisioning = {
    ...token.body.provisioning,
    apiUrl: guestUrl(token.body.provisioning.apiUrl),
    mqttUrl: guestUrl(token.body.provisioning.mqttUrl),
    name: 'qemu-board',
  };

  let started = Date.now();
  await buildImage({
    board: 'qemu-arm64-virt',
    fleet: 'qemu',
    provisioning,
    output: join(dir, 'device.img'),
    osVersion: '1.0.0',
    nodeRuntime: { kind: 'debian', aptCacheDir: TEST_APT_CACHE },
  });
  timings['image build (device.img)'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  timings['image size'] =
    `${statSync(join(dir, 'device.img')).size / 1048576} MiB apparent, ${(statSync(join(dir, 'device.img')).blocks * 512) / 1048576} MiB allocated`;

  started = Date.now();
  const good = await buildOsImage({
    board: 'qemu-arm64-virt',
    osVersion: '2.0.0',
    output: join(dir, 'os-2.0.0.img'),
    nodeRuntime: { kind: 'debian', aptCacheDir: TEST_APT_CACHE },
  });
  timings['OS image build (os-2.0.0.img)'] = `${((Date.now() - started) / 1000).toFixed(1)} s, ${good.entry.size / 1048576} MiB`;

  files = await serveFiles([good.path]);
  writeFileSync(join(dir, 'initrd.cpio'), kit.initramfs);
  const initrd = join(dir, 'initrd.cpio');
  guest = new PowerCycledBoard(async () => ({
    options: { kernel: kit.kernel, initrd, disk: join(dir, 'device.img'), append: `flotilla.trial_deadline=${trialDeadline}` },
  }));
});

afterAll(async () => {
  await guest?.stop();
  await files?.close();
  await cp?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log(
    `QEMU board figures:\n${Object.entries(timings)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`,
  );
});

describe('a qemu-arm64-virt board built by flotilla image build', () => {
  it('boots slot A, its unit starts the agent through the launcher, and the agent registers with the host control plane and reports an aarch64 inventory', async () => {
    await guest!.waitForLine(/FLOTILLA-BOOT slot=A version=1\.0\.0 arch=aarch64 trial=no/, 120_000).catch(failWithConsole);
    // The image's unit command: the launcher (agent self-update) starts the image's agent.
    await guest!
      .waitForLine(
        /FLOTILLA-AGENT-START \/usr\/bin\/node --max-semi-space-size=1 --lite-mode \/opt\/flotilla\/launcher\.js \/opt\/flotilla\/agent\.js\r?$/m,
        60_000,
      )
      .catch(failWithConsole);
    const registered = await waitFor(
      'the guest agent to register, connect and send its inventory',
      async () => {
        const list = await api.get<DeviceView[] | { items: DeviceView[] }>('/api/v1/devices');
        const all = Array.isArray(list.body) ? list.body : list.body.items;
        return all.find((d) => d.name === 'qemu-board' && d.online && d.inventory && d.reported);
      },
      240_000,
      1_000,
    ).catch(failWithConsole);
    timings['power-on to registered and reporting'] = `${(guest!.uptimeMs / 1000).toFixed(1)} s`;
    deviceId = registered.id;
    expect(registered.board).toBe('qemu-arm64-virt');
    expect(registered.inventory!.arch).toMatch(/^(arm64|aarch64)$/);
    expect(registered.inventory!.os.kernel).toMatch(/arm64/);
    expect(registered.inventory!.board.model).toBe('linux,dummy-virt');
    expect(registered.reported!.os).toMatchObject({ version: '1.0.0', slot: 'A', inTrial: false, phase: 'idle' });
  });

  it('an OS update to 2.0.0 is written to slot B, boots on trial, commits, and the device reports the new OS', async () => {
    const sha256 = await sha256Of(join(dir, 'os-2.0.0.img'));
    const release = await publishOs('2.0.0', { sha256, size: statSync(join(dir, 'os-2.0.0.img')).size, file: 'os-2.0.0.img' });
    const started = Date.now();
    await assign(release);

    await guest!.waitForLine(/FLOTILLA-BOOT slot=B version=2\.0\.0 arch=aarch64 trial=yes/, 400_000).catch(failWithConsole);
    timings['OS update: assign to trial boot of B'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    const committed = await waitFor(
      'the device to report OS 2.0.0 committed on slot B',
      async () => {
        const d = await device();
        const os = d.reported?.os;
        return d.online && os?.version === '2.0.0' && os.slot === 'B' && !os.inTrial && os.phase === 'idle' ? d : undefined;
      },
      240_000,
      1_000,
    ).catch(failWithConsole);
    timings['OS update: assign to committed on B'] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    expect(committed.reported!.os!.lastFailure).toBeNull();
    const kinds = await waitFor(
      'the os-update-committed event',
      async () => {
        const all = (await events()).map((e) => `${e.kind}: ${e.message}`);
        return all.some((k) => /^os-update-committed: OS 2\.0\.0 committed on slot B/.test(k)) ? all : undefined;
      },
      60_000,
      1_000,
    );
    expect(kinds).toEqual(expect.arrayContaining([expect.stringMatching(/^os-update-started: writing OS 2\.0\.0/)]));
    // The image came over HTTP from this host, as the release said.
    expect(files.requests.some((r) => r.startsWith('GET /os-2.0.0.img'))).toBe(true);
  });
});
