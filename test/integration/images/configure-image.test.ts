import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureImage } from '../../../cli/src/images/configure-image';
import { readExt4File } from '../../../cli/src/images/ext4';
import { readFatFile } from '../../../cli/src/images/fat';
import { runTool } from '../../../cli/src/images/tools';
import { buildAgentDeb } from '../../../cli/src/packaging/build-agent-deb';
import { testProvisioning } from './fixtures';

// A stand-in for a stock Raspberry Pi OS image: MBR with a FAT32 "bootfs" (type c) at
// 4 MiB and an ext4 "rootfs" (type 83), made here with sfdisk, mkfs.vfat and mkfs.ext4.
jest.setTimeout(60_000);

const MiB = 1024 * 1024;
const AGENT_ENTRY = join(__dirname, '..', '..', '..', 'agent', 'dist', 'main.js');

async function stockImage(path: string): Promise<void> {
  const file = await open(path, 'w');
  await file.truncate(200 * MiB);
  await file.close();
  await runTool('sfdisk', ['--quiet', path], {
    input: 'label: dos\nunit: sectors\n\nstart=8192, size=131072, type=c\nstart=139264, type=83\n',
  });
  await runTool('mkfs.vfat', ['-F', '32', '-s', '1', '-n', 'bootfs', '--offset=8192', path, String(65536)]);
  await runTool('mkfs.ext4', ['-q', '-F', '-L', 'rootfs', '-E', `offset=${139264 * 512}`, path, `${(200 * MiB - 139264 * 512) / 1024}k`]);
  await runTool('mmd', ['-i', `${path}@@${8192 * 512}`, '::/overlays']);
}

describe('flotilla image configure', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-configure-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes provisioning.json into the FAT boot partition found through the partition table', async () => {
    const image = join(dir, 'raspios.img');
    await stockImage(image);
    const provisioning = testProvisioning('configure-token-0123456789');
    expect((await stat(image)).mode & 0o777).toBe(0o644);
    await configureImage({ image, provisioning });
    // It holds the token now: its owner alone may read it.
    expect((await stat(image)).mode & 0o777).toBe(0o600);
    const written = JSON.parse((await readFatFile(image, 8192 * 512, 'flotilla/provisioning.json')).toString());
    expect(written).toEqual(provisioning);

    // Again with another token: the file is replaced, the rest of the partition kept.
    await configureImage({ image, provisioning: { ...provisioning, token: 'second-token-0123456789' } });
    expect(JSON.parse((await readFatFile(image, 8192 * 512, 'flotilla/provisioning.json')).toString()).token).toBe(
      'second-token-0123456789',
    );
    await runTool('mdir', ['-i', `${image}@@${8192 * 512}`, '::/overlays']);
  });

  it('optionally installs the agent, its launcher and its systemd unit into the root partition', async () => {
    if (!existsSync(AGENT_ENTRY)) throw new Error(`${AGENT_ENTRY} is missing: run npm run build first`);
    const image = join(dir, 'raspios-agent.img');
    await stockImage(image);
    await configureImage({ image, provisioning: testProvisioning(), withAgent: true });
    const root = 139264 * 512;
    expect((await readExt4File(image, root, '/opt/flotilla/agent.js')).toString('utf8', 0, 19)).toBe('#!/usr/bin/env node');
    expect((await readExt4File(image, root, '/opt/flotilla/launcher.js')).toString()).toContain('launcher.js BASE_AGENT_JS');
    const unit = (await readExt4File(image, root, '/etc/systemd/system/flotilla-agent.service')).toString();
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/node .*\/opt\/flotilla\/launcher\.js \/opt\/flotilla\/agent\.js$/m);
    expect(unit).toMatch(/^KillMode=mixed$/m);
    const link = await runTool('debugfs', [
      '-R',
      'stat /etc/systemd/system/multi-user.target.wants/flotilla-agent.service',
      `${image}?offset=${root}`,
    ]);
    expect(link.stdout.toString()).toContain('Fast link dest: "../flotilla-agent.service"');
    await runTool('e2fsck', ['-fn', `${image}?offset=${root}`]);
  });

  it('drops the flotilla-agent package and the provisioning into the root for a first-boot apt install', async () => {
    const image = join(dir, 'raspios-deb.img');
    await stockImage(image);
    const deb = await buildAgentDeb({ version: '0.1.0', arch: 'arm64', outDir: dir, agent: Buffer.from('// agent\n') });
    const provisioning = testProvisioning('deb-token-0123456789abcdef');
    await configureImage({ image, provisioning, debPath: deb });
    const root = 139264 * 512;
    expect((await readExt4File(image, root, '/var/cache/flotilla/flotilla-agent.deb')).equals(await readFile(deb))).toBe(true);
    expect(JSON.parse((await readExt4File(image, root, '/etc/flotilla/provisioning.json')).toString())).toEqual(provisioning);
    const mode = await runTool('debugfs', ['-R', 'stat /etc/flotilla/provisioning.json', `${image}?offset=${root}`]);
    expect(mode.stdout.toString()).toMatch(/Mode:\s+0600/);
    // Not also on the world-readable boot partition, where the package's agent never reads it.
    await expect(readFatFile(image, 8192 * 512, 'flotilla/provisioning.json')).rejects.toThrow();
    const unit = (await readExt4File(image, root, '/etc/systemd/system/flotilla-agent-install.service')).toString();
    expect(unit).toContain('ExecStart=/usr/bin/apt-get install -y /var/cache/flotilla/flotilla-agent.deb');
    const link = await runTool('debugfs', [
      '-R',
      'stat /etc/systemd/system/multi-user.target.wants/flotilla-agent-install.service',
      `${image}?offset=${root}`,
    ]);
    expect(link.stdout.toString()).toContain('Fast link dest: "../flotilla-agent-install.service"');
    await runTool('e2fsck', ['-fn', `${image}?offset=${root}`]);
    await expect(configureImage({ image, provisioning, debPath: deb, withAgent: true })).rejects.toMatchObject({ code: 'usage' });
  });

  it('says so when an image has no FAT partition', async () => {
    const image = join(dir, 'nofat.img');
    const file = await open(image, 'w');
    await file.truncate(16 * MiB);
    await file.close();
    await runTool('sfdisk', ['--quiet', image], { input: 'label: dos\nunit: sectors\n\nstart=2048, type=83\n' });
    await expect(configureImage({ image, provisioning: testProvisioning() })).rejects.toMatchObject({ code: 'boot-partition-missing' });
  });
});
