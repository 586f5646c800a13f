import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testImages } from '../setup/services';
import { freePort } from './ports';

const run = promisify(execFile);

/** A registry of its own that wants a login (htpasswd, bcrypt), as private registries do. */
export interface AuthRegistry {
  /** `127.0.0.1:<port>`, as image references spell it. */
  host: string;
  username: string;
  password: string;
  /** Pushes a fresh image, logged in through a private DOCKER_CONFIG; returns `<host>/<repository>@sha256:…`. */
  pushUniqueImage(repository: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port with a temp
 * config, filesystem storage and `auth.htpasswd`; it answers anonymous requests with 401 and
 * `WWW-Authenticate: Basic realm=…`. Needs `htpasswd` (apache2-utils; ensure-services.sh
 * installs it). 127.0.0.0/8 is an insecure registry to the engine, so no TLS is needed.
 */
export async function startAuthRegistry(): Promise<AuthRegistry> {
  const username = `u${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const { stdout: htpasswd } = await run('htpasswd', ['-Bbn', username, password]).catch((err: unknown) => {
    throw new Error('htpasswd failed: install apache2-utils (bash test/setup/ensure-services.sh does)', { cause: err });
  });
  const started = await startRegistry(async (dir) => {
    await writeFile(join(dir, 'htpasswd'), htpasswd);
    return `auth: { htpasswd: { realm: flotilla-test, path: ${join(dir, 'htpasswd')} } }`;
  });
  let loggedIn: Promise<unknown> | undefined;
  return {
    ...started,
    username,
    password,
    async pushUniqueImage(repository) {
      loggedIn ??= login(started.host, username, password, started.dockerEnv);
      await loggedIn;
      return pushUnique(started.host, repository, started.dockerEnv);
    },
  };
}

/** A registry that trusts tokens signed by a control plane (Docker distribution's token authentication). */
export interface TokenRegistry {
  host: string;
  /** Pushes a fresh image with a push token from `pushToken`; returns `<host>/<repository>@sha256:…`. */
  pushUniqueImage(repository: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `docker-registry` with `auth.token`: it accepts a bearer JWT whose `x5c` chain ends in
 * `rootCertificatePem`, whose `iss` is `issuer` and `aud` is `service` (the host, unless given).
 * Anonymous requests get 401 with `WWW-Authenticate: Bearer realm=…` pointing at `realm`.
 * Images are pushed either with `pushToken(host, repositories)`, a token that may push to all of
 * them (the engine mounts shared layers from the repositories pushed before, which needs access
 * to them), or by `docker login` with `pushLogin`, which the engine answers through `realm`.
 */
export async function startTokenRegistry(options: {
  rootCertificatePem: string;
  issuer: string;
  service?: (host: string) => string;
  realm?: string;
  pushToken?: (host: string, repositories: string[]) => string;
  pushLogin?: { username: string; password: string };
}): Promise<TokenRegistry> {
  const started = await startRegistry(async (dir, host) => {
    await writeFile(join(dir, 'issuer.crt'), options.rootCertificatePem);
    const service = options.service?.(host) ?? host;
    const realm = options.realm ?? `http://${host}/no-realm`;
    return `auth: { token: { realm: "${realm}", service: "${service}", issuer: "${options.issuer}", rootcertbundle: ${join(dir, 'issuer.crt')} } }`;
  });
  const pushed: string[] = [];
  let pushing: Promise<unknown> = Promise.resolve();
  let loggedIn: Promise<unknown> | undefined;
  return {
    host: started.host,
    stop: started.stop,
    pushUniqueImage(repository) {
      const push = pushing.then(async () => {
        if (options.pushLogin) {
          const { username, password } = options.pushLogin;
          await (loggedIn ??= login(started.host, username, password, started.dockerEnv));
        } else if (options.pushToken) {
          // The CLI hands `registrytoken` from its config to the engine, which sends it as Bearer.
          const auths = { [started.host]: { registrytoken: options.pushToken(started.host, [repository, ...pushed]) } };
          await writeFile(join(started.dockerEnv.DOCKER_CONFIG!, 'config.json'), JSON.stringify({ auths }));
        }
        const ref = await pushUnique(started.host, repository, started.dockerEnv);
        pushed.push(repository);
        return ref;
      });
      pushing = push.catch(() => undefined);
      return push;
    },
  };
}

interface StartedRegistry {
  host: string;
  /** A private DOCKER_CONFIG for the CLI, never the machine's. */
  dockerEnv: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function startRegistry(authConfig: (dir: string, host: string) => Promise<string>): Promise<StartedRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-auth-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  let child: ChildProcess | undefined;
  let output = '';
  try {
    await writeFile(
      join(dir, 'config.yml'),
      [
        'version: 0.1',
        'log: { level: warn, accesslog: { disabled: true } }',
        `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
        `http: { addr: "${host}", secret: flotilla-test-only }`,
        await authConfig(dir, host),
        '',
      ].join('\n'),
    );
    const started = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout.on('data', (d: Buffer) => (output += d.toString()));
    started.stderr.on('data', (d: Buffer) => (output += d.toString()));
    await waitUntilServing(host, started, () => output);
  } catch (err) {
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const registryProcess = child;
  await mkdir(join(dir, 'docker-config'), { recursive: true });
  return {
    host,
    dockerEnv: { ...process.env, DOCKER_CONFIG: join(dir, 'docker-config'), DOCKER_BUILDKIT: '0' },
    async stop() {
      const exited = new Promise((resolve) => registryProcess.once('exit', resolve));
      registryProcess.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
      clearTimeout(timer);
      registryProcess.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Builds a small image FROM the test busybox, pushes it, and removes it from the engine again,
 * so that using it means pulling it.
 */
async function pushUnique(host: string, repository: string, env: NodeJS.ProcessEnv): Promise<string> {
  const tag = `${host}/${repository}:t`;
  await build(tag, `FROM ${testImages().busybox}\nLABEL io.flotilla.test-image="${host}/${repository}"\n`, env);
  await run('docker', ['push', tag], { env });
  const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{join .RepoDigests "\\n"}}', tag], { env });
  const ref = stdout.split('\n').find((r) => r.startsWith(`${host}/${repository}@sha256:`));
  if (!ref) throw new Error(`no digest for ${tag} after push: ${stdout}`);
  await run('docker', ['rmi', tag], { env });
  return ref;
}

async function waitUntilServing(host: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${output()}`);
    const status = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry on ${host} not serving within 10 s (last status ${status}): ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function login(host: string, username: string, password: string, env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('docker', ['login', '-u', username, '--password-stdin', host], { env }, (err) =>
      err ? reject(err) : resolve(),
    );
    child.stdin!.end(password);
  });
}

async function build(tag: string, dockerfile: string, env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('docker', ['build', '-q', '-t', tag, '-'], { env }, (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(dockerfile);
  });
}
