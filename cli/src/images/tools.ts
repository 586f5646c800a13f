import { spawn } from 'node:child_process';
import { ImageToolError } from './errors';

/** Debian packages that carry each external tool, for the "install it" hint. */
const PACKAGES: Record<string, string> = {
  sfdisk: 'fdisk',
  'mkfs.vfat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mtype: 'mtools',
  mdir: 'mtools',
  'mkfs.ext4': 'e2fsprogs',
  debugfs: 'e2fsprogs',
  tar: 'tar',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
};

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs one external tool to completion. A missing tool and a failing one are both
 * ImageToolErrors that name the command and say what to do.
 */
export function runTool(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        const pkg = PACKAGES[command];
        reject(new ImageToolError('tool-missing', `${command} is not installed${pkg ? `: apt-get install ${pkg}` : ''}`));
      } else reject(new ImageToolError('tool-failed', `${command} could not start: ${e.message}`));
    });
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new ImageToolError('tool-failed', `${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(-2000)}`));
    });
    if (child.stdin) {
      // A tool that exits before reading all its input fails through its exit code, not EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
