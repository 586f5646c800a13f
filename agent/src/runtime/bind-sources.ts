import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ComponentSpec } from '@flotilla/shared/device';
import { UnsafeBindSourceError } from './errors';

/**
 * Refuses a bind mount whose host path is not exactly the directory it names: one that is not
 * in normal form ("..", ".", "//", a trailing "/") or that passes through a symbolic link.
 *
 * The fleet's host policy (control plane) allows bind mounts by path prefix, compared as text;
 * the kernel follows symbolic links when it mounts. A component given a writable bind mount of an
 * allowed directory could leave a link there ("allowed/x -> /") for a later release to mount,
 * reaching the whole host through a path the policy allowed. Only the device sees its own file
 * system, so the check is here. `hostRoot` is where the host's "/" is seen by the agent
 * (`FLOTILLA_HOST_ROOT`). A missing tail is fine: the engine creates it as directories.
 */
export async function assertBindSourcesReal(spec: ComponentSpec, hostRoot: string): Promise<void> {
  for (const mount of spec.mounts) {
    if (mount.type !== 'bind') continue;
    const why = await unsafeBindSource(mount.source, hostRoot);
    if (why !== undefined) throw new UnsafeBindSourceError(spec.name, mount.source, why);
  }
}

async function unsafeBindSource(source: string, hostRoot: string): Promise<string | undefined> {
  if (!source.startsWith('/')) return 'it is not an absolute path';
  if (source !== '/' && (posix.normalize(source) !== source || source.endsWith('/'))) {
    return `it is not in normal form (write it as "${posix.normalize(source).replace(/(.)\/$/, '$1')}")`;
  }
  let path = '';
  for (const part of source.split('/').filter((p) => p !== '')) {
    path = `${path}/${part}`;
    const stat = await lstat(posix.join(hostRoot, path)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (stat === undefined) return undefined;
    if (stat.isSymbolicLink()) return `${path} is a symbolic link on this device`;
  }
  return undefined;
}
