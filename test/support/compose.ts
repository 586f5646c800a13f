import { execFile } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/**
 * Offline deployment images (deploy/build-images.sh: Debian packages + this repository, tagged
 * by content, so a warm run only checks them) as the `FLOTILLA_IMAGE_*` variables compose
 * files read. Needs root, like the rest of the suite's setup.
 */
export async function deployImages(): Promise<{ env: Record<string, string>; seconds: number }> {
  const t0 = performance.now();
  const { stdout } = await run('bash', [join(ROOT, 'deploy', 'build-images.sh')], { maxBuffer: 16 << 20, timeout: 900_000 });
  const env = Object.fromEntries(
    stdout
      .split('\n')
      .map((l) => /^(FLOTILLA_IMAGE_[A-Z_]+)=(\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  if (!env.FLOTILLA_IMAGE_CONTROL_PLANE) throw new Error(`deploy/build-images.sh printed no image tags:\n${stdout}`);
  return { env, seconds: (performance.now() - t0) / 1000 };
}

/**
 * One docker-compose project (Debian's docker-compose 1.29: this engine has no compose plugin),
 * under a unique name so parallel runs never share containers, networks or volumes. Every
 * resource the compose files define carries io.flotilla.managed=true; `down()` removes them
 * with the volumes.
 */
export class ComposeProject {
  readonly name = `flotilla-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  constructor(
    private readonly file: string,
    private readonly env: Record<string, string>,
  ) {}

  async compose(args: string[], timeoutMs = 120_000): Promise<string> {
    try {
      const { stdout } = await run('docker-compose', ['-p', this.name, '-f', this.file, ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', ...this.env },
        maxBuffer: 64 << 20,
        timeout: timeoutMs,
      });
      return stdout;
    } catch (e) {
      const err = e as Error & { stderr?: string };
      throw new Error(`docker-compose ${args.join(' ')} failed: ${err.stderr?.slice(-3000) ?? err.message}`, { cause: e });
    }
  }

  up(services: string[] = [], timeoutMs = 120_000): Promise<string> {
    return this.compose(['up', '-d', '--no-build', ...services], timeoutMs);
  }

  /** The container of one service (its id), for docker kill/stop/inspect. */
  async container(service: string): Promise<string> {
    return (await this.compose(['ps', '-q', service])).trim();
  }

  logs(services: string[] = [], tail = 60): Promise<string> {
    return this.compose(['logs', '--no-color', '--tail', String(tail), ...services]).catch((e: Error) => e.message);
  }

  async down(timeoutMs = 60_000): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans', '--timeout', '5'], timeoutMs);
  }
}

/** docker itself (kill, stop, start of one container). */
export async function docker(args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: 120_000 });
  return stdout.trim();
}

/**
 * The HTTP status of one GET on a connection of its own, or undefined when none came within
 * `timeoutMs`. For probing a freshly published port: until the container listens, Docker's
 * proxy accepts and at once closes connections, and fetch's pooled client (Node 20's undici)
 * can keep such a request pending for its whole 300 s headers timeout instead of failing it.
 */
export function probeStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
