import { chmod, lstat, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../support/logger';
import { unsafeDirReason } from '../support/private-dir';
import { StateDirUnsafeError } from './errors';

/**
 * The state dir's secrets: the device's password, its private key, the registry logins of the
 * release being applied. The agent writes them 0600; one put there otherwise (restored from a
 * backup, copied by hand) would be readable by every user of the board in a 0755 directory.
 */
export const SECRET_STATE_FILES = ['credential.json', 'device-key.pem', 'update-journal.json'] as const;

/**
 * The state dir holds who the device is (credential, key) and whom it trusts (pinned CAs and
 * release keys). Whoever may write to it may plant a credential for a control plane of their
 * own, or a key they know, and so own the device: the agent refuses to start on a directory
 * that another user owns or that group or others may write (as ssh's StrictModes does).
 * Made when missing, 0700.
 */
export async function assertPrivateStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const reason = unsafeDirReason(await stat(dir));
  if (reason) throw new StateDirUnsafeError(dir, reason);
}

/** Makes each secret file that group or others may read 0600 again, and says so. */
export async function keepSecretsPrivate(dir: string, logger: Logger): Promise<void> {
  for (const name of SECRET_STATE_FILES) {
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isFile() || (info.mode & 0o077) === 0) continue;
    await chmod(path, 0o600);
    logger.warn('a secret file of the state dir was readable by others; made it 0600', {
      path,
      was: (info.mode & 0o777).toString(8).padStart(4, '0'),
    });
  }
}
