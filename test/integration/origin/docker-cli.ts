// The Docker CLI against the shared engine, for origin's image tests. Every object a test
// creates carries its run's unique name prefix, and only those are removed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('docker', args, { maxBuffer: 16 << 20, timeout: 120_000 });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Names of the containers and networks of one test file's run, removed together at the end. */
export class DockerScope {
  readonly prefix = `origin-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly containers: string[] = [];
  private readonly networks: string[] = [];

  container(role: string): string {
    const name = `${this.prefix}-${role}`;
    this.containers.push(name);
    return name;
  }

  async network(role: string): Promise<string> {
    const name = `${this.prefix}-${role}`;
    this.networks.push(name);
    await docker('network', 'create', '--label', `flotilla.test=${this.prefix}`, name);
    return name;
  }

  async cleanup(): Promise<void> {
    if (this.containers.length > 0) await docker('rm', '-f', '-v', ...this.containers).catch(() => undefined);
    for (const n of this.networks) await docker('network', 'rm', n).catch(() => undefined);
  }
}

export async function health(container: string): Promise<string> {
  return docker('inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', container);
}
