import { mkdir, stat } from 'node:fs/promises';
import { StateDirUnsafeError } from './errors';

/**
 * The state dir holds who the device is (credential, key) and whom it trusts (pinned CAs and
 * release keys). Whoever may write to it may plant a credential for a control plane of their
 * own, or a key they know, and so own the device: the agent refuses to start on a directory
 * that another user owns or that group or others may write (as ssh's StrictModes does).
 * Made when missing, 0700.
 */
export async function assertPrivateStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid && info.uid !== 0)
    throw new StateDirUnsafeError(dir, `it is owned by uid ${info.uid}, not by this agent's (uid ${uid})`);
  if ((info.mode & 0o022) !== 0)
    throw new StateDirUnsafeError(dir, `group or others may write to it (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')})`);
}
