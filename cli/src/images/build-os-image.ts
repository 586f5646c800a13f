import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OsImageSpec } from '@flotilla/shared';
import { bundleAgentWithLauncher } from '../packaging/agent-unit';
import { loadBoardSpec } from './board-specs';
import { DEFAULT_EPOCH, populateRoot, type NodeRuntime } from './build-image';
import { ImageToolError } from './errors';
import { formatExt4 } from './ext4';
import type { FatFile } from './fat';
import { DerivedIds } from './ids';
import { planLayout } from './layout';
import { osRelease } from './root-files';
import { silentProgress, type Progress } from './progress';
import { runTool } from './tools';

export interface BuildOsImageOptions {
  board: string;
  specsDir?: string;
  osVersion: string;
  output: string;
  rootfsTar?: string;
  nodeRuntime?: NodeRuntime;
  agentEntry?: string;
  /** Boot files for the root's /boot/firmware (boards with per-slot boot partitions: the agent copies them to the slot). */
  bootFiles?: readonly FatFile[];
  epoch?: number;
  progress?: Progress;
}

export interface BuiltOsImage {
  path: string;
  /** What goes into a release's `x-flotilla.os` list, once `url` says where the file is served. */
  entry: Omit<OsImageSpec, 'url'>;
}

export const OS_BUILD_STAGES = 4;

/** A root image only holds what it needs plus this much room for logs and state the OS keeps in its root. */
const HEADROOM_BYTES = 32 * 1024 * 1024;
const ALIGN = 4 * 1024 * 1024;

/**
 * `flotilla image os`: the root file system of one OS version for a board's inactive slot,
 * as a bare ext4 file sized to its contents (not to the slot), so a device downloads only
 * what the OS holds. The agent streams it into the slot and boots it on trial. Same
 * inputs, same bytes, same sha256.
 */
export async function buildOsImage(options: BuildOsImageOptions): Promise<BuiltOsImage> {
  const progress = options.progress ?? silentProgress;
  const epoch = options.epoch ?? (Number(process.env.SOURCE_DATE_EPOCH) || DEFAULT_EPOCH);
  const spec = await loadBoardSpec(options.board, options.specsDir);
  osRelease(spec, options.osVersion); // refuses, before any work, a value the file cannot hold
  const slot = planLayout(spec).partitions.find((p) => p.role === 'rootA')!;
  const ids = new DerivedIds(`${spec.name}\0os\0${options.osVersion}`);
  const work = await mkdtemp(join(tmpdir(), 'flotilla-os-image-'));
  const partial = `${options.output}.partial`;
  try {
    progress.stage('agent and launcher bundles (esbuild)');
    const agent = await bundleAgentWithLauncher(options.agentEntry);
    const root = join(work, 'root');
    await populateRoot(root, {
      spec,
      agent,
      rootfsTar: options.rootfsTar,
      nodeRuntime: options.nodeRuntime,
      osVersion: options.osVersion,
      bootFiles: options.bootFiles,
      progress,
    });

    const used = Number((await runTool('du', ['-s', '--block-size=1', root])).stdout.toString().split('\t')[0]);
    const size = Math.ceil((used * 1.25 + HEADROOM_BYTES) / ALIGN) * ALIGN;
    if (size > slot.size)
      throw new ImageToolError(
        'os-image-too-large',
        `the root of OS ${options.osVersion} needs ${size / 1048576} MiB, the ${spec.name} slots hold ${slot.size / 1048576} MiB; make the rootfs smaller or the slots bigger in its board spec`,
      );
    progress.stage(`root file system (${size / 1048576} MiB ext4)`);
    await rm(partial, { force: true });
    const file = await open(partial, 'w');
    await file.truncate(size);
    await file.close();
    await formatExt4(partial, { offset: 0, size }, { label: 'flotilla-root', uuid: ids.uuid('root'), epoch, contents: root });

    progress.stage('sha256');
    const sha256 = await sha256Of(partial);
    await rename(partial, options.output);
    progress.done(`${options.output}: OS ${options.osVersion} for ${spec.name}, ${size / 1048576} MiB, sha256 ${sha256}`);
    return { path: options.output, entry: { board: spec.name, version: options.osVersion, sha256, size } };
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
