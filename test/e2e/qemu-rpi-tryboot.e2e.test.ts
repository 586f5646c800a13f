import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { DeviceEventView, DeviceView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../control-plane/src/bootstrap';
import { loadBoardSpec } from '../../cli/src/images/board-specs';
import { buildImage } from '../../cli/src/images/build-image';
import { buildOsImage, sha256Of } from '../../cli/src/images/build-os-image';
import { formatExt4 } from '../../cli/src/images/ext4';
import type { FatFile } from '../../cli/src/images/fat';
import { runTool } from '../../cli/src/images/tools';
import { ApiClient } from '../support/api-client';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';
import { serveFiles, type FileServer } from '../support/file-server';
import { waitFor } from '../support/wait';
import { TEST_APT_CACHE } from '../integration/images/fixtures';
import { guestKit } from './qemu/guest-kit';
import { RpiBoard } from './qemu/rpi-firmware';

// Raspberry Pi 4 tryboot A/B end to end: `flotilla image build --board raspberrypi4-64`
// makes the card image (GPT: bootconfig with autoboot.txt, boot_a, boot_b, system_a,
// system_b, data); test/e2e/qemu/rpi-firmware.ts boots it under qemu-system-aarch64 -M virt
// as the Pi firmware would (autoboot.txt, config.txt, the one-shot tryboot flag, the device
// tree's /chosen/bootloader). The agent inside registers with this host's control plane and
// takes OS updates through releases: one that commits on a good trial, one without an agent
// whose trial is rebooted by the trial watchdog, and one that hangs in early userspace and
// is reset by the emulated hardware watchdog (i6300esb). Each failed trial falls back to the
// committed slot by itself, and the agent reports it from there.
jest.setTimeout(600_000);

const apiKey = 'rpi-e2e-operator-key-0123456789abcdef';
const HOST_FROM_GUEST = '10.0.2.2';
/** Seconds a trial may stay uncommitted before the trial watchdog reboots it (generous for a good trial on a loaded CI machine). */
let trialDeadline = 150;

let dir: string;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let api: ApiClient;
let files: FileServer;
let board: RpiBoard | undefined;
let deviceId: string;
const timings: Record<string, string> = {};

const guestUrl = (url: string) => url.replace('127.0.0.1', HOST_FROM_GUEST).replace('localhost', HOST_FROM_GUEST);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
/** Waits for the next console line matching `pattern`: one more than the console holds now. */
function nextLine(pattern: RegExp, timeoutMs: number): Promise<void> {
  const seen = [...board!.console.matchAll(new RegExp(pattern.source, 'g'))].length;
  const line = board!.waitForLine(pattern, timeoutMs, seen + 1).then(() => undefined, failWithConsole);
  line.catch(() => undefined); // awaited by the caller after its other waits; not an unhandled rejection meanwhile
  return line;
}

const failWithConsole = (e: Error): never => {
  throw new Error(`${e.message}\n--- console (tail) ---\n${board?.tail(6000) ?? '(no board)'}`);
};

async function device(): Promise<DeviceView> {
  const res = await api.get<DeviceView>(`/api/v1/devices/${deviceId}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function events(): Promise<DeviceEventView[]> {
  return (await api.get<DeviceEventView[]>(`/api/v1/dashboard/devices/${deviceId}/events?limit=100`)).body;
}

async function assignOs(version: string, file: string): Promise<void> {
  const path = join(dir, file);
  const yaml = `
name: pi-os
services: {}
x-flotilla:
  version: ${version}
  update: { probation: 0s }
  os:
    - board: raspberrypi4-64
      version: "${version}"
      url: http://${HOST_FROM_GUEST}:${files.port}/${file}
      sha256: ${await sha256Of(path)}
      size: ${statSync(path).size}
`;
  const release = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
  if (release.status !== 201) throw new Error(`release ${version}: ${release.status} ${JSON.stringify(release.body)}`);
  expect((await api.put(`/api/v1/devices/${deviceId}/release`, { releaseId: release.body.id })).status).toBe(200);
}

/** A root with the slot's boot files but no Node or agent; `hang` makes it hang in early userspace. */
async function brokenOs(version: string, bootFiles: FatFile[], hang: boolean): Promise<string> {
  const staging = join(dir, `root-${version}`);
  for (const d of ['etc/flotilla', 'proc', 'sys', 'dev', 'run', 'tmp', 'data', 'boot/firmware'])
    mkdirSync(join(staging, d), { recursive: true });
  for (const f of bootFiles) writeFileSync(join(staging, 'boot/firmware', f.path), f.content);
  writeFileSync(join(staging, 'etc/flotilla/os-release'), `FLOTILLA_BOARD=raspberrypi4-64\nFLOTILLA_OS_VERSION=${version}\n`);
  if (hang) writeFileSync(join(staging, 'etc/flotilla/test-hang'), '');
  const file = `os-${version}.img`;
  const size = 32 * 1048576;
  writeFileSync(join(dir, file), Buffer.alloc(0));
  await runTool('truncate', ['-s', String(size), join(dir, file)]);
  await formatExt4(
    join(dir, file),
    { offset: 0, size },
    { label: 'flotilla-root', uuid: '0b0b0b0b-1c1c-4d2d-8e3e-4f4f4f4f4f4f', epoch: 1_704_067_200, contents: staging },
  );
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-rpi-'));
  db = await createScratchDatabase('e2e_rpi');
  cp = await startControlPlane({ host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: join(dir, 'cp'), apiKey });
  api = new ApiClient(cp.httpUrl, apiKey);

  // The slot's boot files: Debian's arm64 kernel and the harness's initramfs stand in for
  // Raspberry Pi OS's; the GPU firmware and the board's DTB only have to be there (virt runs neither).
  const kit = await guestKit(TEST_APT_CACHE, { init: 'init-rpi.sh', modules: ['i6300esb'] });
  const bootFiles: FatFile[] = [
    // Gzipped, as Raspberry Pi OS ships kernel8.img (the firmware and QEMU both unpack it): a third of the bytes to write.
    { path: 'kernel8.img', content: gzipSync(readFileSync(kit.kernel), { level: 6 }) },
    { path: 'initramfs8', content: kit.initramfs },
    { path: 'config.txt', content: 'arm_64bit=1\n[pi4]\nkernel=kernel8.img\n[all]\ninitramfs initramfs8 followkernel\n' },
    { path: 'start4.elf', content: 'stand-in: the GPU firmware does not run under QEMU\n' },
    { path: 'fixup4.dat', content: 'stand-in\n' },
    { path: 'bcm2711-rpi-4-b.dtb', content: 'stand-in: QEMU virt brings its own device tree\n' },
  ];
  const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 });
  const provisioning = {
    ...token.body.provisioning,
    apiUrl: guestUrl(token.body.provisioning.apiUrl),
    mqttUrl: guestUrl(token.body.provisioning.mqttUrl),
    name: 'rpi-board',
  };

  let started = Date.now();
  const image = join(dir, 'pi4.img');
  await buildImage({
    board: 'raspberrypi4-64',
    fleet: 'pis',
    provisioning,
    output: image,
    osVersion: '1.0.0',
    bootFiles,
    nodeRuntime: { kind: 'debian', aptCacheDir: TEST_APT_CACHE },
  });
  timings['image build (raspberrypi4-64)'] = seconds(started);
  timings['image size'] = `${statSync(image).size / 1048576} MiB apparent, ${(statSync(image).blocks * 512) / 1048576} MiB allocated`;
  started = Date.now();
  const good = await buildOsImage({
    board: 'raspberrypi4-64',
    osVersion: '2.0.0',
    output: join(dir, 'os-2.0.0.img'),
    bootFiles,
    nodeRuntime: { kind: 'debian', aptCacheDir: TEST_APT_CACHE },
  });
  timings['image os 2.0.0'] = `${seconds(started)}, ${good.entry.size / 1048576} MiB`;
  const broken = await brokenOs('3.0.0', bootFiles, false);
  const hung = await brokenOs('4.0.0', bootFiles, true);
  files = await serveFiles([good.path, join(dir, broken), join(dir, hung)]);

  board = new RpiBoard({
    image,
    spec: await loadBoardSpec('raspberrypi4-64'),
    dir: join(dir, 'firmware'),
    knobs: () => `flotilla.trial_deadline=${trialDeadline} flotilla.watchdog=5`,
  });
});

afterAll(async () => {
  await board?.stop();
  await files?.close();
  await cp?.close();
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  console.log(
    `Raspberry Pi (emulated) figures:\n${Object.entries(timings)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}`,
  );
});

describe('a raspberrypi4-64 image booted as its firmware would', () => {
  it('boots boot_a (autoboot.txt [all]) with system_a as root, and its agent registers and reports slot A', async () => {
    await board!
      .waitForLine(/FLOTILLA-BOOT partition=2 root=PARTLABEL=system_a version=1\.0\.0 arch=aarch64 tryboot=no/, 120_000)
      .catch(failWithConsole);
    const registered = await waitFor(
      'the agent to register and report',
      async () => {
        const list = await api.get<DeviceView[] | { items: DeviceView[] }>('/api/v1/devices');
        const all = Array.isArray(list.body) ? list.body : list.body.items;
        return all.find((d) => d.name === 'rpi-board' && d.online && d.reported?.os);
      },
      180_000,
      1_000,
    ).catch(failWithConsole);
    timings['power-on to registered and reporting'] = `${(board!.uptimeMs / 1000).toFixed(1)} s`;
    deviceId = registered.id;
    expect(registered.board).toBe('raspberrypi4-64');
    expect(registered.reported!.os).toMatchObject({ version: '1.0.0', slot: 'A', inTrial: false, phase: 'idle' });
  });

  it('OS 2.0.0: written to system_b with its boot files on boot_b, tried once with "0 tryboot", committed by autoboot.txt', async () => {
    const started = Date.now();
    await assignOs('2.0.0', 'os-2.0.0.img');
    await board!.waitForLine(/FLOTILLA-REBOOT-ARG 0 tryboot/, 300_000).catch(failWithConsole);
    await board!
      .waitForLine(/FLOTILLA-BOOT partition=3 root=PARTLABEL=system_b version=2\.0\.0 arch=aarch64 tryboot=yes/, 120_000)
      .catch(failWithConsole);
    timings['OS update: assign to trial boot of B'] = seconds(started);
    await waitFor(
      'OS 2.0.0 committed on slot B',
      async () => {
        const os = (await device()).reported?.os;
        return os?.version === '2.0.0' && os.slot === 'B' && !os.inTrial && os.phase === 'idle' ? os : undefined;
      },
      180_000,
      1_000,
    ).catch(failWithConsole);
    timings['OS update: assign to committed on B'] = seconds(started);
    await waitFor(
      'the os-update-committed event',
      async () => (await events()).find((e) => e.kind === 'os-update-committed'),
      60_000,
      1_000,
    );
  });

  it('OS 3.0.0 without an agent: its trial is rebooted by the trial watchdog, the firmware boots boot_b again, the failure is reported', async () => {
    trialDeadline = 15;
    const boots = board!.choices.length;
    const fellBack = nextLine(/FLOTILLA-BOOT partition=3 root=PARTLABEL=system_b version=2\.0\.0 arch=aarch64 tryboot=no/, 300_000);
    const started = Date.now();
    await assignOs('3.0.0', 'os-3.0.0.img');
    await board!
      .waitForLine(/FLOTILLA-BOOT partition=2 root=PARTLABEL=system_a version=3\.0\.0 arch=aarch64 tryboot=yes/, 240_000)
      .catch(failWithConsole);
    await board!.waitForLine(/FLOTILLA-WATCHDOG trial of partition 2 not committed/, 120_000).catch(failWithConsole);
    await fellBack;
    const failed = await waitFor(
      'the failed OS update reported',
      async () => ((await device()).reported?.os?.lastFailure ? device() : undefined),
      180_000,
      1_000,
    ).catch(failWithConsole);
    timings[`no-agent OS: assign to fallen back and reported (trial deadline ${trialDeadline} s)`] = seconds(started);
    expect(failed.reported!.os).toMatchObject({ version: '2.0.0', slot: 'B', inTrial: false, phase: 'idle' });
    expect(failed.reported!.os!.lastFailure).toMatch(/trial boot of slot A did not bring the agent up; the bootloader fell back to slot B/);
    expect(board!.choices.slice(boots).map((c) => `${c.partition}/${c.tryboot}`)).toEqual(['2/true', '3/false']);
  });

  it('OS 4.0.0 hangs in early userspace: the hardware watchdog resets the board, which falls back to boot_b', async () => {
    const boots = board!.choices.length;
    const fellBack = nextLine(/FLOTILLA-BOOT partition=3 root=PARTLABEL=system_b version=2\.0\.0 arch=aarch64 tryboot=no/, 300_000);
    const started = Date.now();
    await assignOs('4.0.0', 'os-4.0.0.img');
    await board!
      .waitForLine(/FLOTILLA-BOOT partition=2 root=PARTLABEL=system_a version=4\.0\.0 arch=aarch64 tryboot=yes/, 240_000)
      .catch(failWithConsole);
    await board!.waitForLine(/FLOTILLA-HANG/, 60_000).catch(failWithConsole);
    await fellBack;
    // Nothing in the hung OS asked for that restart: no reboot between the hang and the next boot.
    const afterHang = board!.console.slice(board!.console.lastIndexOf('FLOTILLA-HANG'));
    expect(afterHang.slice(0, afterHang.indexOf('RPI-FIRMWARE'))).not.toMatch(/FLOTILLA-REBOOT/);
    await waitFor(
      'the failed 4.0.0 update reported',
      async () =>
        (await events()).find(
          (e) => e.kind === 'os-update-failed' && /^OS update to 4\.0\.0 failed: the trial boot of slot A/.test(e.message),
        ),
      180_000,
      1_000,
    ).catch(failWithConsole);
    timings['hung OS: assign to reset, fallen back and reported'] = seconds(started);
    expect(board!.choices.slice(boots).map((c) => `${c.partition}/${c.tryboot}`)).toEqual(['2/true', '3/false']);
  });
});
