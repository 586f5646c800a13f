import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProvisioningFile } from '@flotilla/shared';
import { DEFAULT_EPOCH } from './build-image';
import { writeFatFiles } from './fat';
import { debugfsPath } from './file-syntax';
import { findBootPartition, findRootPartition, readPartitionTable } from './partition-table';
import { silentProgress, type Progress } from './progress';
import { renderProvisioning } from './provisioning-source';
import { AGENT_PATH, LAUNCHER_PATH, PROVISIONING_PATH_ON_BOOT, systemdUnit } from './root-files';
import { runTool } from './tools';
import { ImageToolError } from './errors';
import { AGENT_DEB_DROP_PATH, agentPackageInstallUnit } from './root-files';
import { DEB_PROVISIONING_PATH } from '../packaging/agent-deb-files';
import { bundleAgentWithLauncher, type AgentBundles } from '../packaging/agent-unit';

export interface ConfigureImageOptions {
  image: string;
  provisioning: ProvisioningFile;
  /** Also put the bundled agent, its launcher and its systemd unit into the root partition (which must have a Node runtime). */
  withAgent?: boolean;
  /**
   * A flotilla-agent .deb (npm run package) to drop into the root partition with the
   * provisioning under /etc/flotilla; a first-boot unit installs it with apt (which fetches
   * nodejs when the OS lacks it). For OSes that keep their own packages, e.g. Raspberry Pi OS.
   */
  debPath?: string;
  agentEntry?: string;
  epoch?: number;
  progress?: Progress;
}

export const CONFIGURE_STAGES = 3;

/**
 * `flotilla image configure`: provision a stock image (e.g. Raspberry Pi OS) in place, as
 * `balena os configure` does. The FAT boot partition is found through the partition table
 * and written with mtools at its offset; the agent goes into the root partition with
 * debugfs. No rebuild, no mount.
 */
export async function configureImage(options: ConfigureImageOptions): Promise<void> {
  const progress = options.progress ?? silentProgress;
  const epoch = options.epoch ?? (Number(process.env.SOURCE_DATE_EPOCH) || DEFAULT_EPOCH);
  if (options.debPath) debugfsPath(options.debPath, '--deb'); // refused before the image is touched
  progress.stage(`partition table of ${options.image}`);
  const partitions = await readPartitionTable(options.image);
  const boot = findBootPartition(partitions, options.image);

  if (options.withAgent && options.debPath)
    throw new ImageToolError('usage', '--agent (the bundled agent) and --deb (the agent package) exclude each other: give one');
  // The package's agent reads /etc/flotilla/provisioning.json (0600): a copy on the boot
  // partition, which every user of the board can read, would hold the token unread for good.
  progress.stage(
    options.debPath
      ? 'provisioning: into the root partition with the package'
      : `provisioning into boot partition ${boot.number} (offset ${boot.offset})`,
  );
  if (!options.debPath)
    await writeFatFiles(
      options.image,
      boot.offset,
      [{ path: PROVISIONING_PATH_ON_BOOT, content: renderProvisioning(options.provisioning) }],
      epoch,
    );
  progress.stage(options.withAgent || options.debPath ? 'agent into the root partition' : 'agent: not requested');
  if (options.withAgent) {
    const root = findRootPartition(partitions, options.image);
    await installAgentWithDebugfs(options.image, root.offset, await bundleAgentWithLauncher(options.agentEntry));
  } else if (options.debPath) {
    const root = findRootPartition(partitions, options.image);
    await dropAgentPackage(options.image, root.offset, options.debPath, renderProvisioning(options.provisioning));
  }
  // The image now carries the fleet's token: no longer for group or others to read (a stock
  // image is often downloaded 0644).
  const { mode } = await stat(options.image);
  if ((mode & 0o077) !== 0) await chmod(options.image, mode & 0o700);
  progress.done(`${options.image} provisioned for ${options.provisioning.apiUrl} (readable by its owner only: it holds the token)`);
}

async function installAgentWithDebugfs(image: string, offset: number, agent: AgentBundles): Promise<void> {
  await editRootWithDebugfs(image, offset, { 'agent.js': agent.agent, 'launcher.js': agent.launcher, unit: systemdUnit() }, (work) => [
    'mkdir /opt',
    'mkdir /opt/flotilla',
    'mkdir /etc',
    'mkdir /etc/systemd',
    'mkdir /etc/systemd/system',
    ...replaceFile(join(work, 'agent.js'), AGENT_PATH, '0100755'),
    ...replaceFile(join(work, 'launcher.js'), LAUNCHER_PATH, '0100755'),
    ...enableUnit(join(work, 'unit'), 'flotilla-agent.service'),
  ]);
}

async function dropAgentPackage(image: string, offset: number, debPath: string, provisioning: string): Promise<void> {
  await editRootWithDebugfs(image, offset, { unit: agentPackageInstallUnit(), 'provisioning.json': provisioning }, (work) => [
    ...['/var', '/var/cache', '/var/cache/flotilla', '/etc', '/etc/flotilla', '/etc/systemd', '/etc/systemd/system'].map(
      (d) => `mkdir ${d}`,
    ),
    ...replaceFile(debPath, AGENT_DEB_DROP_PATH, undefined, '--deb'),
    ...replaceFile(join(work, 'provisioning.json'), DEB_PROVISIONING_PATH, '0100600'),
    ...enableUnit(join(work, 'unit'), 'flotilla-agent-install.service'),
  ]);
}

/**
 * Writes `files` to a scratch directory and runs the debugfs commands `script` builds from it
 * against the ext4 root at `offset`: no loop mount, so it works without privileges beyond the file.
 * In debugfs, mkdir fails harmlessly when the directory exists, and rm before write replaces a file.
 */
async function editRootWithDebugfs(
  image: string,
  offset: number,
  files: Record<string, string | Uint8Array>,
  script: (work: string) => string[],
): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'flotilla-configure-'));
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(work, name), content);
    await writeFile(join(work, 'script'), [...script(work), ''].join('\n'));
    await runTool('debugfs', ['-w', '-f', join(work, 'script'), `${image}?offset=${offset}`]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `from`: a file on the host (the operator's --deb, or the scratch directory under TMPDIR), quoted for debugfs. */
function replaceFile(from: string, to: string, mode?: string, source = 'the scratch directory (TMPDIR)'): string[] {
  return [`rm ${to}`, `write ${debugfsPath(from, source)} ${to}`, ...(mode ? [`sif ${to} mode ${mode}`] : [])];
}

/** Installs a systemd unit and enables it for multi-user.target, as `systemctl enable` would. */
function enableUnit(from: string, name: string): string[] {
  const wants = `/etc/systemd/system/multi-user.target.wants/${name}`;
  return [
    'mkdir /etc/systemd/system/multi-user.target.wants',
    ...replaceFile(from, `/etc/systemd/system/${name}`),
    `rm ${wants}`,
    `symlink ${wants} ../${name}`,
  ];
}
