import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';

/**
 * Test support: a Docker Engine of the test's own, so a test can restart it without
 * touching the engine everyone else's tests use: its own socket, data-root and exec-root
 * under `dir`, and its own network namespace (`unshare --net`). The namespace matters:
 * dockerd creates and deletes bridges (and may delete `docker0`) in the namespace it runs
 * in. The price is no network: it cannot pull, so images are copied in (`loadImages`).
 */
export class PrivateDockerd {
  private child: ChildProcess | undefined;
  readonly socket: string;

  constructor(private readonly dir: string) {
    this.socket = join(dir, 'd.sock');
  }

  client(): Docker {
    return new Docker({ socketPath: this.socket });
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const log = await open(join(this.dir, 'dockerd.log'), 'a');
    const dockerd = [
      'dockerd',
      `--host=unix://${this.socket}`,
      `--data-root=${join(this.dir, 'root')}`,
      `--exec-root=${join(this.dir, 'x')}`,
      `--pidfile=${join(this.dir, 'd.pid')}`,
      '--iptables=false',
      '--ip6tables=false',
    ];
    // `exec` keeps dockerd itself as the child, so stop() signals the engine, not a shell.
    this.child = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...dockerd], {
      stdio: ['ignore', log.fd, log.fd],
    });
    await log.close();
    const docker = this.client();
    for (let i = 0; i < 150; i++) {
      const up = await docker.ping().then(
        () => true,
        () => false,
      );
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`private dockerd did not answer on ${this.socket}; see ${join(this.dir, 'dockerd.log')}`);
  }

  /** Copies images (by tag) from another engine, as `docker save … | docker load`. */
  async loadImages(from: Docker, refs: string[]): Promise<void> {
    // dockerode has `getImages` (GET /images/get), its type definitions do not.
    const saver = from as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> };
    const tar = await saver.getImages({ names: refs });
    const docker = this.client();
    const response = await docker.loadImage(tar);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(response, (err) => (err ? reject(err) : resolve())));
  }

  /** SIGTERM, as an engine upgrade or `systemctl restart docker` would; waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    const docker = this.client();
    const containers = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    await this.stop();
    // Never recurse into a directory the engine may still have mounts under.
    if (!(await readFile('/proc/mounts', 'utf8')).includes(this.dir)) await rm(this.dir, { recursive: true, force: true });
  }
}
