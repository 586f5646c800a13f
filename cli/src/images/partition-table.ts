import { ImageToolError } from './errors';
import { SECTOR } from './layout';
import { runTool } from './tools';

/** `sfdisk --json` output: the part of it this tool reads. */
interface SfdiskJson {
  partitiontable?: { label?: string; sectorsize?: number; partitions?: { node: string; start: number; size: number; type: string }[] };
}

export interface FoundPartition {
  number: number;
  offset: number;
  size: number;
  type: string;
}

/** MBR FAT types (FAT16/FAT32, CHS and LBA) and the GPT ESP / basic-data GUIDs. */
const FAT_TYPES = new Set(['4', '6', 'b', 'c', 'e', 'ef', 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b', 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7']);
const LINUX_TYPES = new Set(['83', '0fc63daf-8483-4772-8e79-3d69e4c8a4e4', 'b921b045-1df0-41c3-af44-4c6f280d3fae']);

export function parsePartitionTable(json: string, source: string): FoundPartition[] {
  const table = (JSON.parse(json) as SfdiskJson).partitiontable;
  const partitions = table?.partitions ?? [];
  if (
    !table ||
    !partitions.every(
      (p) => typeof p.node === 'string' && Number.isInteger(p.start) && Number.isInteger(p.size) && typeof p.type === 'string',
    )
  )
    throw new ImageToolError('partition-table-unreadable', `${source}: sfdisk --json gave an unexpected shape`);
  const sector = table.sectorsize ?? SECTOR;
  return partitions.map((p) => ({
    number: Number(/(\d+)$/.exec(p.node)?.[1] ?? 0),
    offset: p.start * sector,
    size: p.size * sector,
    type: p.type.toLowerCase(),
  }));
}

/** The first FAT partition: where Raspberry Pi firmware and U-Boot read their files. */
export function findBootPartition(partitions: readonly FoundPartition[], source: string): FoundPartition {
  const boot = partitions.find((p) => FAT_TYPES.has(p.type));
  if (!boot)
    throw new ImageToolError(
      'boot-partition-missing',
      `${source} has no FAT partition (types seen: ${partitions.map((p) => p.type).join(', ') || 'none'})`,
    );
  return boot;
}

/** The first Linux partition after the boot one: a stock image's (only) root. */
export function findRootPartition(partitions: readonly FoundPartition[], source: string): FoundPartition {
  const root = partitions.find((p) => LINUX_TYPES.has(p.type));
  if (!root) throw new ImageToolError('root-partition-missing', `${source} has no Linux partition to put the agent in`);
  return root;
}

export async function readPartitionTable(image: string): Promise<FoundPartition[]> {
  const { stdout } = await runTool('sfdisk', ['--json', image]).catch((e: ImageToolError) => {
    throw new ImageToolError('partition-table-unreadable', `${image} has no partition table sfdisk can read: ${e.message}`);
  });
  return parsePartitionTable(stdout.toString('utf8'), image);
}
