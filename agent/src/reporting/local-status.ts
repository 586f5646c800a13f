import { join } from 'node:path';
import type { LocalStatus } from '@flotilla/shared/device';
import { writeFileAtomic } from '../state/atomic-file';

/**
 * Writes the device's status for apps on the board (`<dir>/status.json`, default
 * `/run/flotilla`): replaced atomically so a reader never sees half a file, and
 * world-readable because the apps run as other users inside their containers.
 */
export class LocalStatusFile {
  readonly path: string;

  constructor(dir: string) {
    this.path = join(dir, 'status.json');
  }

  write(status: LocalStatus): Promise<void> {
    return writeFileAtomic(this.path, JSON.stringify(status), 0o644, 0o755);
  }
}
