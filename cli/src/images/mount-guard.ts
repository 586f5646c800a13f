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
    const byDevice = target.devices.has(m.device);
    const bySource = m.source === target.path || m.source === target.realPath;
    if (!byDevice && !bySource) continue;
    reasons.push(
      m.mountPoint === '/'
        ? `it holds the running system (mounted at /, device ${m.device})`
        : `${m.source} (device ${m.device}) is mounted at ${m.mountPoint}`,
    );
  }
  return [...new Set(reasons)];
}
