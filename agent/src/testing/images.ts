import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The digest-pinned busybox image `test/setup/ensure-services.sh` built and pushed. */
export function busyboxImage(): string {
  const file = join(__dirname, '../../../test/setup/.images.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { busybox: string }).busybox;
}

/**
 * Builds a small image FROM the test busybox (offline, classic builder), pushes it to the
 * local registry under a repository of its own, and removes it from the engine again, so
 * that using it means pulling it by digest. Returns `127.0.0.1:5000/…@sha256:…`.
 */
/** Builds a small image FROM the test busybox and tags it `tag`, on the engine only (no registry). */
export async function buildLocalImage(tag: string, docker = 'docker'): Promise<string> {
  const dockerfile = `FROM ${busyboxImage()}\nLABEL io.flotilla.test-image="${tag}"\n`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(docker, ['build', '-q', '-t', tag, '-'], { env: { ...process.env, DOCKER_BUILDKIT: '0' } }, (err) =>
      err ? reject(err) : resolve(),
    );
    child.stdin!.end(dockerfile);
  });
  return tag;
}

export async function pushUniqueImage(repository: string, docker = 'docker', env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const tag = `127.0.0.1:5000/${repository}:t`;
  const dockerfile = `FROM ${busyboxImage()}\nLABEL io.flotilla.test-image="${repository}"\n`;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(docker, ['build', '-q', '-t', tag, '-'], { env: { ...env, DOCKER_BUILDKIT: '0' } }, (err) =>
      err ? reject(err) : resolve(),
    );
    child.stdin!.end(dockerfile);
  });
  await run(docker, ['push', tag], { env });
  const { stdout } = await run(docker, ['image', 'inspect', '--format', '{{index .RepoDigests 0}}', tag], { env });
  await run(docker, ['rmi', tag], { env });
  return stdout.trim();
}
