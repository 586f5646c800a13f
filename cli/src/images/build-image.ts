import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { renderAutoboot, slotCmdline, type BoardSpec, type ProvisioningFile } from '@flotilla/shared';
import { bundleAgentWithLauncher, type AgentBundles } from '../packaging/agent-unit';
import { fstabWithoutBaseMounts, takeBootFiles } from './base-rootfs';
import { loadBoardSpec } from './board-specs';
import { DebianArm64 } from './debian-arm64';
import { formatExt4 } from './ext4';
import { formatFat, writeFatFiles, type FatFile } from './fat';
import { DerivedIds } from './ids';
import { planLayout, sfdiskScript, type ImageLayout, type PlacedPartition } from './layout';
import { silentProgress, type Progress } from './progress';
import { renderProvisioning } from './provisioning-source';
import {
  AGENT_PATH,
  LAUNCHER_PATH,
  BOARD_SPEC_PATH,
  BOOT_MOUNT,
  OS_RELEASE_PATH,
  PROVISIONING_PATH_ON_BOOT,
  fstabLines,
  initScript,
  kernelCmdline,
  osRelease,
  systemdUnit,
  SYSTEMD_WATCHDOG_CONF,
  systemdWatchdogConf,
  TRIAL_WATCHDOG_PATH,
  trialWatchdogScript,
  trialWatchdogUnit,
  ubootScript,
} from './root-files';
import { runTool } from './tools';
import { ImageToolError } from './errors';
import { missingBootFiles, withWatchdog } from './rpi-boot';

/** 2024-01-01T00:00:00Z: the timestamp of every file when SOURCE_DATE_EPOCH is not set. */
export const DEFAULT_EPOCH = 1_704_067_200;

export type NodeRuntime = { kind: 'debian'; aptCacheDir?: string } | { kind: 'none' };

export interface BuildImageOptions {
  board: string;
  specsDir?: string;
  /** Fleet name or id; seeds the image's identifiers and is recorded in the OS release file. */
  fleet: string;
  provisioning: ProvisioningFile;
  output: string;
  /** A root file system tarball (e.g. a Debian or Raspberry Pi OS arm64 root) to start root A from. */
  rootfsTar?: string;
  nodeRuntime?: NodeRuntime;
  /** The agent's compiled entry to bundle (default agent/dist/main.js). */
  agentEntry?: string;
  osVersion?: string;
  /** Seconds since 1970 for every timestamp in the image (default SOURCE_DATE_EPOCH or DEFAULT_EPOCH). */
  epoch?: number;
  /**
   * More files for the boot partition (a kernel, an initramfs, firmware blobs). On a board
   * with per-slot boot partitions they are the root's /boot/firmware, which is slot A's.
   */
  bootFiles?: readonly FatFile[];
  progress?: Progress;
}

export interface BuiltImage {
  path: string;
  board: BoardSpec;
  layout: ImageLayout;
  /** Debian packages unpacked into root A for the Node runtime. */
  runtimePackages: string[];
}

export const BUILD_STAGES = 7;

/**
 * `flotilla image build`: a raw disk image with the board's partition layout, the agent
 * and a Node runtime in root A, and the provisioning on the boot partition. Everything is
 * written into a plain file at byte offsets (sfdisk, mkfs.vfat --offset, mtools,
 * mkfs.ext4 -d -E offset): no loop device, mount or root needed. Same inputs, same bytes.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const progress = options.progress ?? silentProgress;
  const epoch = options.epoch ?? (Number(process.env.SOURCE_DATE_EPOCH) || DEFAULT_EPOCH);
  const spec = await loadBoardSpec(options.board, options.specsDir);
  osRelease(spec, options.osVersion ?? '1', options.fleet); // refuses, before any work, a value the file cannot hold
  const layout = planLayout(spec);
  const ids = new DerivedIds(`${spec.name}\0${options.fleet}\0${options.provisioning.token}`);
  const partial = `${options.output}.partial`;
  const work = await mkdtemp(join(tmpdir(), 'flotilla-image-'));
  const part = (role: PlacedPartition['role']) => layout.partitions.find((p) => p.role === role)!;

  try {
    progress.stage(`partition table (${spec.partitionTable}, ${layout.size / 1048576} MiB) for ${spec.name}`);
    await rm(partial, { force: true });
    // 0600, made afresh ('wx' follows no link left in its place): the image carries the fleet's provisioning token.
    const file = await open(partial, 'wx', 0o600);
    await file.truncate(layout.size); // sparse: unwritten space costs nothing
    await file.close();
    await runTool('sfdisk', ['--quiet', '--no-reread', '--no-tell-kernel', partial], {
      input: sfdiskScript(layout, { diskId: ids.diskId.replace(/-/g, ''), partUuid: (n) => ids.uuid(`part${n}`) }),
    });

    progress.stage('agent and launcher bundles (esbuild)');
    const agent = await bundleAgentWithLauncher(options.agentEntry);

    const rootA = join(work, 'rootA');
    const runtimePackages = await populateRoot(rootA, {
      spec,
      agent,
      rootfsTar: options.rootfsTar,
      nodeRuntime: options.nodeRuntime,
      osVersion: options.osVersion ?? '1',
      fleet: options.fleet,
      bootFiles: perSlotBoot(spec) ? options.bootFiles : undefined,
      progress,
    });

    const baseBootFiles = await takeBootFiles(rootA);

    progress.stage(`root A (${part('rootA').size / 1048576} MiB ext4)`);
    const rootDevice = perSlotBoot(spec)
      ? undefined
      : spec.partitionTable === 'mbr'
        ? `PARTUUID=${ids.diskId.replace(/-/g, '').slice(0, 8)}-0${part('rootA').number}`
        : `PARTUUID=${ids.uuid(`part${part('rootA').number}`)}`;
    await formatExt4(partial, part('rootA'), { label: part('rootA').label, uuid: ids.uuid('rootA'), epoch, contents: rootA });

    progress.stage('root B and data (empty ext4)');
    await formatExt4(partial, part('rootB'), { label: part('rootB').label, uuid: ids.uuid('rootB'), epoch });
    await formatExt4(partial, part('data'), { label: part('data').label, uuid: ids.uuid('data'), epoch });

    progress.stage('boot partition (FAT32) with the provisioning');
    const boot = part('boot');
    await formatFat(partial, boot, boot.label, ids.volumeId('boot'));
    const provisioningFile: FatFile = {
      path: PROVISIONING_PATH_ON_BOOT,
      content: renderProvisioning({ ...options.provisioning, board: options.provisioning.board ?? spec.name }),
    };
    if (perSlotBoot(spec)) {
      // Raspberry Pi tryboot A/B (firmware-specs/RASPBERRY-PI.md): autoboot.txt and the
      // provisioning on `bootconfig`, slot A's boot files on boot_a, boot_b empty until
      // the first OS update fills it.
      const [bootA, bootB] = [part('bootA'), part('bootB')];
      await writeFatFiles(
        partial,
        boot.offset,
        [{ path: 'autoboot.txt', content: renderAutoboot(bootA.number, bootB.number) }, provisioningFile],
        epoch,
      );
      await formatFat(partial, bootA, bootA.label, ids.volumeId('bootA'));
      await writeFatFiles(partial, bootA.offset, [...baseBootFiles, { path: 'cmdline.txt', content: slotCmdline(spec, 'A') }], epoch);
      await formatFat(partial, bootB, bootB.label, ids.volumeId('bootB'));
    } else {
      const bootFiles: FatFile[] = [
        // The image is for this board: the device registers as one unless the provisioning says otherwise.
        provisioningFile,
        ...baseBootFiles,
        { path: 'cmdline.txt', content: kernelCmdline(spec, rootDevice!) },
        ...(spec.boot.backend === 'uboot' ? [{ path: 'boot.cmd', content: ubootScript(spec) }] : []),
        ...(options.bootFiles ?? []),
      ];
      await writeFatFiles(partial, boot.offset, bootFiles, epoch);
    }

    progress.stage('finish');
    await rename(partial, options.output);
    progress.done(`${options.output}: ${layout.size / 1048576} MiB, ${layout.partitions.length} partitions`);
    return { path: options.output, board: spec, layout, runtimePackages };
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface RootContents {
  spec: BoardSpec;
  /** The bundled agent and the launcher that starts it (bundleAgentWithLauncher). */
  agent: AgentBundles;
  rootfsTar?: string;
  nodeRuntime?: NodeRuntime;
  osVersion: string;
  fleet?: string;
  /** Files for the root's /boot/firmware (a slot's boot files on boards with per-slot boot partitions). */
  bootFiles?: readonly FatFile[];
  progress: Progress;
}

/** Boards whose firmware switches whole boot partitions (Raspberry Pi tryboot): every root carries its own boot files. */
export const perSlotBoot = (spec: BoardSpec): boolean => spec.partitions.some((p) => p.role === 'bootA');

/**
 * Fills a directory with what a root slot holds: the base root file system (when given),
 * the Node runtime, the agent, its service definitions and the OS identity files.
 * Returns the Debian packages unpacked for the runtime.
 */
export async function populateRoot(root: string, contents: RootContents): Promise<string[]> {
  const runtime = contents.nodeRuntime ?? { kind: 'debian' };
  contents.progress.stage(runtime.kind === 'debian' ? 'Node runtime (Debian arm64 nodejs)' : 'Node runtime: none requested');
  await mkdir(root, { recursive: true });
  if (contents.rootfsTar) await runTool('tar', ['-x', '--numeric-owner', '-f', contents.rootfsTar, '-C', root]);
  if (perSlotBoot(contents.spec)) await prepareSlotBootFiles(root, contents.spec, contents.bootFiles ?? []);
  let runtimePackages: string[] = [];
  if (runtime.kind === 'debian') {
    const debian = new DebianArm64(runtime.aptCacheDir);
    await debian.prepare();
    runtimePackages = await debian.withDependencies(['nodejs']);
    await debian.extract(await debian.download(runtimePackages), root);
  }
  await addFlotillaFiles(root, contents.spec, contents.agent, contents.osVersion, contents.fleet);
  return runtimePackages;
}

async function addFlotillaFiles(root: string, spec: BoardSpec, agent: AgentBundles, version: string, fleet?: string): Promise<void> {
  const put = async (path: string, content: string | Buffer, mode = 0o644) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
    await chmod(join(root, path), mode);
  };
  await put(AGENT_PATH, agent.agent, 0o755);
  await put(LAUNCHER_PATH, agent.launcher, 0o755);
  await put(OS_RELEASE_PATH, osRelease(spec, version, fleet));
  // The agent reads its board's slot layout and boot backend from here for OS updates.
  await put(BOARD_SPEC_PATH, JSON.stringify(spec, null, 2) + '\n');
  await put('/etc/systemd/system/flotilla-agent.service', systemdUnit());
  await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
  await symlink('../flotilla-agent.service', join(root, 'etc/systemd/system/multi-user.target.wants/flotilla-agent.service')).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    },
  );
  await put(SYSTEMD_WATCHDOG_CONF, systemdWatchdogConf());
  await put('/etc/init.d/flotilla-agent', initScript(), 0o755);
  await put(TRIAL_WATCHDOG_PATH, trialWatchdogScript(), 0o755);
  await put('/etc/systemd/system/flotilla-trial-watchdog.service', trialWatchdogUnit());
  await symlink(
    '../flotilla-trial-watchdog.service',
    join(root, 'etc/systemd/system/multi-user.target.wants/flotilla-trial-watchdog.service'),
  ).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const fstab = join(root, 'etc/fstab');
  const existing = await readFile(fstab, 'utf8').catch(() => '');
  if (!existing.includes('flotilla image build')) await put('/etc/fstab', fstabWithoutBaseMounts(existing) + fstabLines(spec));
  // Mount points: the boot partition, the data partition, and the API file systems a base rootfs would have.
  for (const dir of ['boot/firmware', 'data', 'dev', 'proc', 'sys', 'run', 'tmp']) await mkdir(join(root, dir), { recursive: true });
}

/**
 * A root for a board with per-slot boot partitions holds what its slot's boot partition
 * gets (under /boot/firmware): checked here against what the firmware needs, so a build
 * without firmware or kernel is refused instead of answering with an image that never boots.
 */
async function prepareSlotBootFiles(root: string, spec: BoardSpec, extra: readonly FatFile[]): Promise<void> {
  const dir = join(root, BOOT_MOUNT);
  for (const file of extra) {
    await mkdir(dirname(join(dir, file.path)), { recursive: true });
    await writeFile(join(dir, file.path), file.content);
  }
  const present = new Set<string>();
  const walk = async (local: string, inside: string): Promise<void> => {
    for (const entry of await readdir(local, { withFileTypes: true }).catch(() => [])) {
      const path = inside ? `${inside}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(local, entry.name), path);
      else present.add(path);
    }
  };
  await walk(dir, '');
  const configPath = join(dir, 'config.txt');
  const config = await readFile(configPath, 'utf8').catch(() => undefined);
  const missing = missingBootFiles(spec, present, config);
  if (missing.length > 0)
    throw new ImageToolError(
      'boot-files-missing',
      `a ${spec.name} slot needs ${missing.join(', ')} on its boot partition, and the inputs have none: the firmware could not boot it. ` +
        `Pass --rootfs ROOT.tar made by "flotilla image rootfs" from a Raspberry Pi OS image (its /boot/firmware has firmware, kernel and device trees), ` +
        `or --boot-files DIR holding them`,
    );
  await mkdir(dir, { recursive: true });
  await writeFile(configPath, withWatchdog(config));
}
