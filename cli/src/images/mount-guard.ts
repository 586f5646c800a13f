/**
 * Pure part of the flash guard: does writing to a target destroy a mounted file system or
 * the running system? Facts (device numbers, /proc/self/mountinfo) are gathered by the
 * caller, so this decision is tested without touching a disk.
 */

export interface TargetFacts {
  /** The path given and its resolved form (symlinks such as /dev/disk/by-id/… followed). */
  path: string;
  realPath: string;
  /** "major:minor" of the target and of every device that shares its blocks: its partitions, holders (dm, md), loop devices over a target file. */
  devices: ReadonlySet<string>;
}

export interface MountEntry {
  device: string;
  mountPoint: string;
  source: string;
  /**
   * "major:minor" of `source` when it is a block device. Not always `device`: btrfs (and any
   * file system on several devices) shows an anonymous 0:N there, so a disk holding a btrfs
   * root would pass by its device number alone.
   */
  sourceDevice?: string;
}

/** Where swap appears in the list of what is in use (it is in no mountinfo). */
export const SWAP = '[swap]';

/** /proc/swaps: a header, then `filename type size used priority` (the name escaped as in mountinfo). */
export function parseSwaps(text: string): MountEntry[] {
  return text
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map((line) => ({ device: '', mountPoint: SWAP, source: unescape(line.split(/\s+/)[0]!) }));
}

/** /proc/self/mountinfo: `id parent major:minor root mountpoint options … - fstype source superoptions`. */
export function parseMountinfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const fields = line.split(' ');
      const dash = fields.indexOf('-');
      return { device: fields[2], mountPoint: unescape(fields[4]), source: unescape(fields[dash + 2] ?? '') };
    });
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Why the target must not be written, or an empty list when it is free. */
export function mountConflicts(target: TargetFacts, mounts: readonly MountEntry[]): string[] {
  const reasons: string[] = [];
  for (const m of mounts) {
    const byDevice = target.devices.has(m.device) || (m.sourceDevice !== undefined && target.devices.has(m.sourceDevice));
    const bySource = m.source === target.path || m.source === target.realPath;
    if (!byDevice && !bySource) continue;
    const device = m.sourceDevice ?? m.device;
    reasons.push(
      m.mountPoint === '/'
        ? `it holds the running system (mounted at /, device ${device})`
        : m.mountPoint === SWAP
          ? `${m.source} (device ${device}) is in use as swap`
          : `${m.source} (device ${device}) is mounted at ${m.mountPoint}`,
    );
  }
  return [...new Set(reasons)];
}
