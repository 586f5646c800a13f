import type { BoardSpec, PartitionSpec } from '@flotilla/shared';
import { ImageToolError } from './errors';

export const SECTOR = 512;
const MiB = 1024 * 1024;
/** Partitions start on 1 MiB boundaries: what SD cards and eMMC erase blocks like. */
const ALIGN = MiB;
/** GPT keeps a backup header and table (33 sectors) at the end of the disk. */
const GPT_TAIL = MiB;

export interface PlacedPartition {
  /** 1-based, as in /dev/mmcblk0p1. */
  number: number;
  role: PartitionSpec['role'];
  label: string;
  fs: PartitionSpec['fs'];
  offset: number;
  size: number;
}

export interface ImageLayout {
  table: BoardSpec['partitionTable'];
  size: number;
  partitions: PlacedPartition[];
}

export function parseSize(size: string): number {
  const match = /^(\d+)(MiB|GiB)$/.exec(size);
  if (!match) throw new ImageToolError('size-invalid', `"${size}" is not a size such as 256MiB or 2GiB`);
  return Number(match[1]) * (match[2] === 'GiB' ? 1024 * MiB : MiB);
}

/** Where each partition of the board's spec lies in a built image (pure). */
export function planLayout(spec: BoardSpec): ImageLayout {
  const fixed = spec.partitions.filter((p) => p.size !== 'rest').reduce((sum, p) => sum + parseSize(p.size), 0);
  const tail = spec.partitionTable === 'gpt' ? GPT_TAIL : 0;
  const size = spec.imageSize ? parseSize(spec.imageSize) : ALIGN + fixed + tail;
  let offset = ALIGN;
  const partitions = spec.partitions.map((p, i): PlacedPartition => {
    const bytes = p.size === 'rest' ? size - tail - offset : parseSize(p.size);
    if (bytes < 8 * MiB)
      throw new ImageToolError(
        'layout-too-small',
        `board ${spec.name}: partition ${p.label} would get ${bytes} bytes within imageSize ${spec.imageSize}; raise imageSize in its spec`,
      );
    const placed = { number: i + 1, role: p.role, label: p.label, fs: p.fs, offset, size: bytes };
    offset += bytes;
    return placed;
  });
  if (offset + tail > size)
    throw new ImageToolError('layout-too-small', `board ${spec.name}: partitions need ${offset + tail} bytes, imageSize is ${size}`);
  return { table: spec.partitionTable, size, partitions };
}

/** MBR type codes and GPT type GUIDs, as sfdisk accepts them. */
const TYPES = {
  mbr: { vfat: 'c', ext4: '83' },
  gpt: { vfat: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', ext4: '0FC63DAF-8483-4772-8E79-3D69E4C8A4E4' },
} as const;

/**
 * The sfdisk script for a layout. Every identifier is given (disk id, GPT partition
 * UUIDs) so that the same inputs give the same bytes.
 */
export function sfdiskScript(layout: ImageLayout, ids: { diskId: string; partUuid: (n: number) => string }): string {
  const header =
    layout.table === 'mbr'
      ? ['label: dos', `label-id: 0x${ids.diskId.slice(0, 8)}`]
      : ['label: gpt', `label-id: ${ids.diskId}`, `first-lba: ${ALIGN / SECTOR}`];
  const lines = layout.partitions.map((p) => {
    const fields = [`start=${p.offset / SECTOR}`, `size=${p.size / SECTOR}`, `type=${TYPES[layout.table][p.fs]}`];
    if (layout.table === 'gpt') fields.push(`uuid=${ids.partUuid(p.number)}`, `name="${p.label}"`);
    if (layout.table === 'mbr' && p.role === 'boot') fields.push('bootable');
    return fields.join(', ');
  });
  return [...header, 'unit: sectors', 'sector-size: 512', '', ...lines, ''].join('\n');
}
