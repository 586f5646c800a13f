import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ProvisioningFile } from '@flotilla/shared/device';
import { writeFileAtomic } from '../state/atomic-file';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { ProvisioningFileError } from './errors';

/**
 * The provisioning file sits on the boot partition, which anyone with the card (or any process
 * on the board, FAT knows no owners) can read and write: it is read as untrusted input.
 */

/** Far above what a real one holds (16 CAs of 16 KiB each and a few release keys). */
export const MAX_PROVISIONING_BYTES = 1024 * 1024;

export async function readProvisioningFile(path: string): Promise<ProvisioningFile> {
  const raw = safeJson(await readBounded(path));
  if (isObject(raw) && raw.token === undefined && raw.schema !== undefined)
    throw new ProvisioningFileError(path, 'it holds no token (the agent removes it once the device has registered)');
  const parsed = ProvisioningFile.safeParse(raw);
  if (!parsed.success)
    throw new ProvisioningFileError(path, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * Once the device holds a credential the token has done its work, yet it may still register
 * other devices (a fleet image's token takes up to 1,000, for a year): it is removed from the
 * file, which is left otherwise as written (its CAs still serve a password device's move to TLS).
 * A file that cannot be rewritten (a read-only boot partition) is told in the log, not fatal.
 */
export async function removeUsedToken(path: string, logger: Logger): Promise<void> {
  const raw = await readBounded(path).then(safeJson, () => undefined);
  if (!isObject(raw) || raw.token === undefined) return;
  const { token: _used, ...rest } = raw;
  try {
    // FAT has no modes to set: the file keeps what the mount gives it.
    await writeFileAtomic(path, JSON.stringify(rest, null, 2) + '\n', null);
    logger.info('removed the used registration token from the provisioning file', { path });
  } catch (err) {
    logger.warn('could not remove the used registration token from the provisioning file; revoke the token if the board is exposed', {
      path,
      error: errorMessage(err),
    });
  }
}

/** The file's text: a regular file (not a FIFO or a device that never ends) within MAX_PROVISIONING_BYTES. */
async function readBounded(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((err: unknown) => {
    throw new ProvisioningFileError(path, errorMessage(err));
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ProvisioningFileError(path, 'it is not a regular file');
    const buffer = Buffer.alloc(MAX_PROVISIONING_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_PROVISIONING_BYTES) throw new ProvisioningFileError(path, `it is larger than ${MAX_PROVISIONING_BYTES} bytes`);
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
