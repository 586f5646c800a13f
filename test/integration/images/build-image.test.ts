import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProvisioningFile } from '@flotilla/shared';
import { buildImage } from '../../../cli/src/images/build-image';
import { readExt4File } from '../../../cli/src/images/ext4';
import { readFatFile } from '../../../cli/src/images/fat';
import { readPartitionTable } from '../../../cli/src/images/partition-table';
import { stderrProgress } from '../../../cli/src/images/progress';
import { readProvisioningFile } from '../../../cli/src/images/provisioning-source';
import { runTool } from '../../../cli/src/images/tools';
import { sha256File, TEST_APT_CACHE, testProvisioning } from './fixtures';

// Builds an image twice from the same inputs, with the bundled agent and Debian's arm64
// Node runtime, and reads it back with sfdisk, mtools, e2fsck and debugfs. The board is a
// compact copy of qemu-arm64-virt (smaller slots), to keep hashing 2 images cheap; the
// real spec is built by test/e2e/qemu-boot.e2e.test.ts.
jest.setTimeout(240_000);

const COMPACT_BOARD = `name: compact-virt
description: qemu-arm64-virt with small partitions, for tests
arch: arm64
soc: virt
models: ['linux,dummy-virt']
boot: { backend: file, cmdline: 'console=ttyAMA0 root={root} rootwait' }
partitionTable: mbr
partitions:
  - { role: boot, label: FLOTBOOT, fs: vfat, size: 40MiB }
  - { role: rootA, label: rootA, fs: ext4, size: 256MiB }
  - { role: rootB, label: rootB, fs: ext4, size: 64MiB }
  - { role: data, label: data, fs: ext4, size: rest }
imageSize: 400MiB
probes: []
`;

const AGENT_ENTRY = join(__dirname, '..', '..', '..', 'agent', 'dist', 'main.js');

describe('flotilla image build', () => {
  let dir: string;
  const provisioning = testProvisioning();
  const lines: string[] = [];

  beforeAll(async () => {
    if (!existsSync(AGENT_ENTRY)) throw new Error(`${AGENT_ENTRY} is missing: run npm run build first`);
    dir = await mkdtemp(join(tmpdir(), 'flotilla-build-test-'));
    await mkdir(join(dir, 'specs'));
    await writeFile(join(dir, 'specs', 'compact-virt.yaml'), COMPACT_BOARD);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const build = (output: string) =>
    buildImage({
      board: 'compact-virt',
      specsDir: join(dir, 'specs'),
      fleet: 'greenhouses',
      provisioning,
      output,
      osVersion: '2026.11.0',
      nodeRuntime: { kind: 'debian', aptCacheDir: TEST_APT_CACHE },
      progress: stderrProgress(7, (s) => void lines.push(s), Date.now),
    });

  it('gives the same bytes for the same inputs, with the layout of the board spec', async () => {
    const first = join(dir, 'first.img');
    const second = join(dir, 'second.img');
    const started = Date.now();
    const built = await build(first);
    const buildMs = Date.now() - started;
    await build(second);
    expect(await sha256File(first)).toBe(await sha256File(second));
    console.log(
      `compact-virt image: ${built.layout.size / 1048576} MiB, built in ${buildMs} ms (packages: ${built.runtimePackages.length})`,
    );

    const parts = await readPartitionTable(first);
    expect(parts.map((p) => [p.number, p.type, p.size / 1048576])).toEqual([
      [1, 'c', 40],
      [2, '83', 256],
      [3, '83', 64],
      [4, '83', 39],
    ]);
    expect(lines.filter((l) => /^\[\d\/7\] /.test(l))).toHaveLength(14);
  });

  it('puts the provisioning on the boot partition and the agent, its services and Node into root A', async () => {
    const image = join(dir, 'first.img');
    const [boot, rootA, rootB, data] = await readPartitionTable(image);
    // The image holds the fleet's token: its owner alone may read it.
    expect((await stat(image)).mode & 0o777).toBe(0o600);
    const written = ProvisioningFile.parse(JSON.parse((await readFatFile(image, boot.offset, 'flotilla/provisioning.json')).toString()));
    expect(written).toEqual(provisioning);
    expect((await readFatFile(image, boot.offset, 'cmdline.txt')).toString()).toMatch(/root=PARTUUID=[0-9a-f]{8}-02 /);

    for (const p of [rootA, rootB, data]) await runTool('e2fsck', ['-fn', `${image}?offset=${p.offset}`]);
    const agent = await readExt4File(image, rootA.offset, '/opt/flotilla/agent.js');
    expect(agent.toString('utf8', 0, 19)).toBe('#!/usr/bin/env node');
    expect(agent.length).toBeGreaterThan(100_000);
    const unit = (await readExt4File(image, rootA.offset, '/etc/systemd/system/flotilla-agent.service')).toString();
    // The launcher beside the agent starts it (and an agent version it installs under alts/: agent self-update).
    const launcher = await readExt4File(image, rootA.offset, '/opt/flotilla/launcher.js');
    expect(launcher.toString('utf8', 0, 19)).toBe('#!/usr/bin/env node');
    expect(launcher.toString()).toContain('launcher.js BASE_AGENT_JS');
    expect(unit).toMatch(
      /^ExecStart=\/usr\/bin\/node --max-semi-space-size=1 .*\/opt\/flotilla\/launcher\.js \/opt\/flotilla\/agent\.js$/m,
    );
    expect(unit).toMatch(/^KillMode=mixed$/m);
    expect(unit).toMatch(/^Environment=FLOTILLA_STATE_DIR=\/data\/flotilla$/m);
    // Supervised: systemd restarts an agent that stops pinging, and PID 1 pets the board's watchdog.
    expect(unit).toMatch(/^WatchdogSec=60s$/m);
    expect(unit).toMatch(/^NotifyAccess=all$/m);
    expect((await readExt4File(image, rootA.offset, '/etc/systemd/system.conf.d/flotilla-watchdog.conf')).toString()).toMatch(
      /^\[Manager\]\nRuntimeWatchdogSec=15s$/m,
    );
    expect((await readExt4File(image, rootA.offset, '/etc/flotilla/os-release')).toString()).toContain('FLOTILLA_OS_VERSION="2026.11.0"');
    // Debian's nodejs for arm64: an aarch64 ELF (e_machine 183 at byte 18).
    const node = await readExt4File(image, rootA.offset, '/usr/bin/node');
    expect(node.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(node.readUInt16LE(18)).toBe(183);
  });

  it('starts root A from a --rootfs tarball and keeps its files next to the agent', async () => {
    const base = join(dir, 'base');
    await mkdir(join(base, 'etc'), { recursive: true });
    await writeFile(join(base, 'etc', 'hostname'), 'board\n');
    await writeFile(join(base, 'etc', 'fstab'), 'proc /proc proc defaults 0 0\n');
    await runTool('tar', ['-cf', join(dir, 'base.tar'), '-C', base, '.']);
    const output = join(dir, 'with-rootfs.img');
    await buildImage({
      board: 'compact-virt',
      specsDir: join(dir, 'specs'),
      fleet: 'greenhouses',
      provisioning,
      output,
      rootfsTar: join(dir, 'base.tar'),
      nodeRuntime: { kind: 'none' },
    });
    const rootA = (await readPartitionTable(output))[1];
    expect((await readExt4File(output, rootA.offset, '/etc/hostname')).toString()).toBe('board\n');
    const fstab = (await readExt4File(output, rootA.offset, '/etc/fstab')).toString();
    expect(fstab).toMatch(/^proc \/proc proc defaults 0 0\n# Added by flotilla image build\nLABEL=FLOTBOOT \/boot\/firmware vfat/);
    expect((await readExt4File(output, rootA.offset, '/opt/flotilla/agent.js')).length).toBeGreaterThan(100_000);
  });

  it('refuses an unknown board and an invalid provisioning file with what to do', async () => {
    await expect(
      buildImage({
        board: 'no-such-board',
        specsDir: join(dir, 'specs'),
        fleet: 'f',
        provisioning,
        output: join(dir, 'y.img'),
        nodeRuntime: { kind: 'none' },
      }),
    ).rejects.toMatchObject({ code: 'board-unknown' });
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...provisioning, releaseKeys: [] }));
    await expect(readProvisioningFile(bad)).rejects.toMatchObject({ code: 'provisioning-invalid' });
    expect(existsSync(join(dir, 'y.img.partial'))).toBe(false);
  });
});
