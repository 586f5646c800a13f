import { BootBackendError } from '../boot-slot-backend';
import { BootCounterBackend } from './boot-counter';
import { readEnvFile, writeEnvBytes } from '../env-file';

/**
 * GRUB's environment block (grub-editenv, `load_env` / `save_env`): exactly 1024 bytes,
 * "# GRUB Environment Block\n", then `name=value\n` lines, padded with '#'. GRUB writes it
 * in place through its own file system driver, so its size never changes.
 *
 * Variables (the grub.cfg side, Mender-style): boot_slot A|B; upgrade_available=1 arms a
 * trial; grub.cfg sets bootcount=1 on the trial boot and, finding bootcount=1 already on the
 * next boot, switches boot_slot back and clears upgrade_available.
 */
export const GRUBENV_SIZE = 1024;
const HEADER = '# GRUB Environment Block\n';

export function parseGrubenv(bytes: Buffer): Map<string, string> {
  const text = bytes.toString('utf8');
  if (!text.startsWith(HEADER) || bytes.length !== GRUBENV_SIZE)
    throw new BootBackendError(
      'grubenv-invalid',
      `not a GRUB environment block (${bytes.length > GRUBENV_SIZE ? `over ${GRUBENV_SIZE}` : bytes.length} bytes; expected ${GRUBENV_SIZE} starting with "${HEADER.trim()}")`,
    );
  const env = new Map<string, string>();
  for (const line of text.slice(HEADER.length).split('\n')) {
    if (line.startsWith('#') || !line.includes('=')) continue;
    const eq = line.indexOf('=');
    env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

export function serializeGrubenv(env: Map<string, string>): Buffer {
  // grub-editenv escapes backslash and newline with a backslash; the slot variables never need either.
  for (const [k, v] of env)
    if (/[\\\n]/.test(k + v) || k.includes('='))
      throw new BootBackendError('grubenv-invalid', `GRUB variable ${k} holds a backslash, newline or "="`);
  const body = [...env].map(([k, v]) => `${k}=${v}\n`).join('');
  const text = HEADER + body;
  if (Buffer.byteLength(text) > GRUBENV_SIZE) throw new BootBackendError('grubenv-full', 'the GRUB environment block is full (1024 bytes)');
  return Buffer.concat([Buffer.from(text), Buffer.alloc(GRUBENV_SIZE - Buffer.byteLength(text), '#')]);
}

export class GrubBackend extends BootCounterBackend {
  readonly kind = 'grub';

  constructor(private readonly envPath: string) {
    super();
  }

  protected get where(): string {
    return this.envPath;
  }

  protected async readVars(): Promise<Map<string, string>> {
    const bytes = await readEnvFile(this.envPath, GRUBENV_SIZE + 1);
    return bytes ? parseGrubenv(bytes) : new Map();
  }

  protected async update(change: (env: Map<string, string>) => void): Promise<void> {
    const env = await this.readVars();
    change(env);
    await writeEnvBytes(this.envPath, 0, serializeGrubenv(env));
  }
}
