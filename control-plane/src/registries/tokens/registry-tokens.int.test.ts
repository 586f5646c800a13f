import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTokenRegistry, type TokenRegistry } from '../../../../test/support/auth-registry';
import { selfSignedCertificate } from './issuer-certificate';
import { sameAccess, signRegistryToken, type RegistryAction, type TokenIssuer } from './registry-token';
import { loadOrCreateTokenIssuer } from './token-issuer';

/**
 * Integration: the tokens this control plane signs, judged by a real registry (Debian's
 * docker-registry, distribution 2.8, with `auth.token` trusting the issuer certificate) and a
 * real Docker Engine pulling with `registrytoken`.
 */
jest.setTimeout(90_000);

const run = promisify(execFile);
let issuer: TokenIssuer;
let registry: TokenRegistry;
let dir: string;
let web: string;
let other: string;

const token = (repositories: string[], actions: RegistryAction[], options: { now?: Date; ttlSeconds?: number; by?: TokenIssuer } = {}) =>
  signRegistryToken(options.by ?? issuer, {
    service: registry.host,
    subject: 'dev-test',
    access: sameAccess(repositories, actions),
    ttlSeconds: options.ttlSeconds ?? 300,
    now: options.now ?? new Date(),
  }).token;

const repositoryOf = (ref: string) => ref.slice(ref.indexOf('/') + 1, ref.indexOf('@'));
const digestOf = (ref: string) => ref.slice(ref.indexOf('@') + 1);

/** A pull as the registry sees it: the manifest by digest, with the token as Bearer. */
async function manifestStatus(ref: string, bearer: string): Promise<number> {
  const res = await fetch(`http://${registry.host}/v2/${repositoryOf(ref)}/manifests/${digestOf(ref)}`, {
    headers: { authorization: `Bearer ${bearer}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-registry-tokens-'));
  issuer = await loadOrCreateTokenIssuer(dir);
  registry = await startTokenRegistry({
    rootCertificatePem: issuer.certificate.toString(),
    issuer: issuer.name,
    pushToken: (_host, repositories) => token(repositories, ['pull', 'push']),
  });
  const tag = Math.random().toString(36).slice(2, 8);
  [web, other] = await Promise.all([registry.pushUniqueImage(`tokens/web-${tag}`), registry.pushUniqueImage(`tokens/other-${tag}`)]);
});

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('refuses a request without a token and names the realm to ask', async () => {
  const res = await fetch(`http://${registry.host}/v2/${repositoryOf(web)}/manifests/${digestOf(web)}`);
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
});

it('lets the Docker Engine pull with a pull-only token for that repository (registrytoken)', async () => {
  const config = join(dir, 'engine-pull');
  await run('mkdir', ['-p', config]);
  await writeFile(
    join(config, 'config.json'),
    JSON.stringify({ auths: { [registry.host]: { registrytoken: token([repositoryOf(web)], ['pull']) } } }),
  );
  try {
    await run('docker', ['pull', web], { env: { ...process.env, DOCKER_CONFIG: config } });
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', web]);
    expect(stdout.trim()).toMatch(/^sha256:/);
  } finally {
    await run('docker', ['rmi', web]).catch(() => undefined);
  }
});

it('refuses with that token: a push, and a pull of another repository', async () => {
  const pullWeb = token([repositoryOf(web)], ['pull']);
  expect(await manifestStatus(web, pullWeb)).toBe(200);
  expect(await manifestStatus(other, pullWeb)).toBe(401);
  const push = await fetch(`http://${registry.host}/v2/${repositoryOf(web)}/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${pullWeb}` },
  });
  expect(push.status).toBe(401);
  // The same request with a push token is let through: the refusal above is about the scope.
  const allowed = await fetch(`http://${registry.host}/v2/${repositoryOf(web)}/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token([repositoryOf(web)], ['pull', 'push'])}` },
  });
  expect(allowed.status).toBe(202);
});

it('refuses an expired token and one signed by a key it does not trust', async () => {
  // Distribution allows 60 s of clock skew past `exp`: this one ended five minutes ago.
  expect(await manifestStatus(web, token([repositoryOf(web)], ['pull'], { now: new Date(Date.now() - 360_000), ttlSeconds: 60 }))).toBe(
    401,
  );
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger: TokenIssuer = {
    name: issuer.name,
    privateKey: pair.privateKey,
    certificate: selfSignedCertificate(pair, 'stranger', new Date(), 1),
  };
  expect(await manifestStatus(web, token([repositoryOf(web)], ['pull'], { by: stranger }))).toBe(401);
});
