import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProvisioningFile } from '@flotilla/shared';
import { DEFAULT_EPOCH } from './build-image';
import { writeFatFiles } from './fat';
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
  progress.stage(`partition table of ${options.image}`);
  const partitions = await readPartitionTable(options.image);
  const boot = findBootPartition(partitions, options.image);

  progress.stage(`provisioning into boot partition ${boot.number} (offset ${boot.offset})`);
  await writeFatFiles(
    options.image,
    boot.offset,
    [{ path: PROVISIONING_PATH_ON_BOOT, content: renderProvisioning(options.provisioning) }],
    epoch,
  );

  if (options.withAgent && options.debPath)
    throw new ImageToolError('usage', '--agent (the bundled agent) and --deb (the agent package) exclude each other: give one');
  progress.stage(options.withAgent || options.debPath ? 'agent into the root partition' : 'agent: not requested');
  if (options.withAgent) {
    const root = findRootPartition(partitions, options.image);
    await installAgentWithDebugfs(options.image, root.offset, await bundleAgentWithLauncher(options.agentEntry));
  } else if (options.debPath) {
    const root = findRootPartition(partitions, options.image);
    await dropAgentPackage(options.image, root.offset, options.debPath, renderProvisioning(options.provisioning));
  }
  progress.done(`${options.image} provisioned for ${options.provisioning.apiUrl}`);
}

async function installAgentWithDebugfs(image: string, offset: number, agent: AgentBundles): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'flotilla-configure-'));
  try {
    await writeFile(join(work, 'agent.js'), agent.agent);
    await writeFile(join(work, 'launcher.js'), agent.launcher);
    await writeFile(join(work, 'unit'), systemdUnit());
    const unit = '/etc/systemd/system/flotilla-agent.service';
    // debugfs: mkdir fails harmlessly when the directory exists; rm before write replaces a file.
    const script = [
      'mkdir /opt',
      'mkdir /opt/flotilla',
      'mkdir /etc',
      'mkdir /etc/systemd',
      'mkdir /etc/systemd/system',
      `rm ${AGENT_PATH}`,
      `write ${join(work, 'agent.js')} ${AGENT_PATH}`,
      `sif ${AGENT_PATH} mode 0100755`,
      `rm ${LAUNCHER_PATH}`,
      `write ${join(work, 'launcher.js')} ${LAUNCHER_PATH}`,
      `sif ${LAUNCHER_PATH} mode 0100755`,
      'mkdir /etc/systemd/system/multi-user.target.wants',
      `rm ${unit}`,
      `write ${join(work, 'unit')} ${unit}`,
      'rm /etc/systemd/system/multi-user.target.wants/flotilla-agent.service',
      'symlink /etc/systemd/system/multi-user.target.wants/flotilla-agent.service ../flotilla-agent.service',
      '',
    ].join('\n');
    await writeFile(join(work, 'script'), script);
    await runTool('debugfs', ['-w', '-f', join(work, 'script'), `${image}?offset=${offset}`]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function dropAgentPackage(image: string, offset: number, debPath: string, provisioning: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'flotilla-configure-'));
  try {
    await writeFile(join(work, 'unit'), agentPackageInstallUnit());
    await writeFile(join(work, 'provisioning.json'), provisioning);
    const unit = '/etc/systemd/system/flotilla-agent-install.service';
    const script = [
      ...['/var', '/var/cache', '/var/cache/flotilla', '/etc', '/etc/flotilla', '/etc/systemd', '/etc/systemd/system'].map(
        (d) => `mkdir ${d}`,
      ),
      'mkdir /etc/systemd/system/multi-user.target.wants',
      `rm ${AGENT_DEB_DROP_PATH}`,
      `write ${debPath} ${AGENT_DEB_DROP_PATH}`,
      `rm ${DEB_PROVISIONING_PATH}`,
      `write ${join(work, 'provisioning.json')} ${DEB_PROVISIONING_PATH}`,
      `sif ${DEB_PROVISIONING_PATH} mode 0100600`,
      `rm ${unit}`,
      `write ${join(work, 'unit')} ${unit}`,
      'rm /etc/systemd/system/multi-user.target.wants/flotilla-agent-install.service',
      'symlink /etc/systemd/system/multi-user.target.wants/flotilla-agent-install.service ../flotilla-agent-install.service',
      '',
    ].join('\n');
    await writeFile(join(work, 'script'), script);
    await runTool('debugfs', ['-w', '-f', join(work, 'script'), `${image}?offset=${offset}`]);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
