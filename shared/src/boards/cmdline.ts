import type { BoardSpec } from './board-spec';

/**
 * The kernel command line of a root slot on a board with per-slot boot partitions: the
 * root by GPT partition name (`root=PARTLABEL=system_b`, which the kernel resolves itself),
 * so the same OS image boots from either slot of any device without device-specific ids.
 */
export function slotCmdline(spec: BoardSpec, slot: 'A' | 'B'): string {
  const root = spec.partitions.find((p) => p.role === (slot === 'A' ? 'rootA' : 'rootB'))!;
  return spec.boot.cmdline.replace('{root}', `PARTLABEL=${root.label}`) + '\n';
}
