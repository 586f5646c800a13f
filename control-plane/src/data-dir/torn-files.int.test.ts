import { mkdir, mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateOperatorKey } from '../auth/operator-key';
import { loadOrCreatePassword } from '../database/embedded-postgres';
import { loadOrCreateSecretBox } from '../registries/secret-box';
import { loadOrCreateTokenIssuer, TOKEN_ISSUER_CERT_FILE, TOKEN_ISSUER_KEY_FILE } from '../registries/tokens/token-issuer';
import { KeyStore, SIGNING_KEYS_DIR } from '../signing/key-store';
import { loadOrCreateTlsMaterial, TLS_DIR } from '../tls/tls-material';
import { DataFileInvalidError } from './data-file';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-torn-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

const tls = () => loadOrCreateTlsMaterial(dataDir, { kind: 'generated', extraNames: [] });
const signingKeys = () => KeyStore.inDataDir(dataDir).loadOrCreate();

/** Cuts `path` to half its length, as a write cut short by a crash or a full disk left it before writes were atomic. */
async function tear(path: string): Promise<void> {
  await truncate(path, Math.floor((await readFile(path)).length / 2));
}

/** The start is refused with an error that names the file, in well under a test's time (an empty secrets.key looped for ever). */
async function expectRefused(start: () => Promise<unknown>, path: string): Promise<void> {
  const error = await start().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataFileInvalidError);
  expect(error).toMatchObject({ path, message: expect.stringContaining(path) });
}

describe('a torn file in the data directory at start', () => {
  it.each([
    ['cut short', tear],
    ['empty', (p: string) => truncate(p, 0)],
  ])('the operator key %s is refused, not taken as the key', async (_how, damage) => {
    const path = (await loadOrCreateOperatorKey(dataDir)).path!;
    await damage(path);
    await expectRefused(() => loadOrCreateOperatorKey(dataDir), path);
  });

  it.each([
    ['cut short', tear],
    ['empty', (p: string) => truncate(p, 0)],
  ])('the secrets key %s is refused', async (_how, damage) => {
    await loadOrCreateSecretBox(dataDir);
    const path = join(dataDir, 'secrets.key');
    await damage(path);
    await expectRefused(() => loadOrCreateSecretBox(dataDir), path);
  });

  it('a registry token issuer key cut short is refused; a key whose certificate was never written gets one', async () => {
    const first = await loadOrCreateTokenIssuer(dataDir);
    await unlink(join(dataDir, TOKEN_ISSUER_CERT_FILE));
    const again = await loadOrCreateTokenIssuer(dataDir);
    expect(again.certificate.checkPrivateKey(first.privateKey)).toBe(true);
    await tear(join(dataDir, TOKEN_ISSUER_KEY_FILE));
    await expectRefused(() => loadOrCreateTokenIssuer(dataDir), join(dataDir, TOKEN_ISSUER_KEY_FILE));
  });

  it('a release-signing key or a revocation cut short is refused (a torn revocation must not free its key)', async () => {
    const store = KeyStore.inDataDir(dataDir);
    const [first] = await signingKeys();
    const second = await store.create();
    await store.revoke(first!);
    const revoked = join(dataDir, SIGNING_KEYS_DIR, `${first!.name}.revoked.json`);
    await tear(revoked);
    await expectRefused(signingKeys, revoked);
    await rm(revoked);
    const key = join(dataDir, SIGNING_KEYS_DIR, `${second.name}.pem`);
    await tear(key);
    await expectRefused(signingKeys, key);
  });

  it('a CA cut short is refused; a server pair that does not match (a renewal cut between its files) is issued again', async () => {
    const before = await tls();
    await writeFile(join(dataDir, TLS_DIR, 'server.key'), (await readFile(join(dataDir, TLS_DIR, 'device-ca.key'))).toString());
    const after = await tls();
    expect(after.server!.certPem).not.toBe(before.server!.certPem);
    expect(after.caCertificates).toEqual(before.caCertificates);
    await tear(join(dataDir, TLS_DIR, 'device-ca.pem'));
    await expectRefused(tls, join(dataDir, TLS_DIR, 'device-ca'));
    expect((await readdir(join(dataDir, TLS_DIR))).sort()).toEqual([
      'ca.key',
      'ca.pem',
      'device-ca.key',
      'device-ca.pem',
      'server.key',
      'server.pem',
    ]);
  });

  it("the embedded PostgreSQL's password, missing or empty beside an existing cluster, is refused rather than replaced", async () => {
    const path = join(dataDir, 'postgres-password');
    const made = await loadOrCreatePassword(path, false);
    expect(await loadOrCreatePassword(path, true)).toBe(made);
    await truncate(path, 0);
    // Before: a new password was written, which the cluster did not have: "password authentication failed".
    await expectRefused(() => loadOrCreatePassword(path, true), path);
    await unlink(path);
    await expectRefused(() => loadOrCreatePassword(path, true), path);
  });

  it('a file that cannot be read (a directory in its place) is refused naming it', async () => {
    const path = join(dataDir, 'secrets.key');
    await mkdir(path);
    // Before: EISDIR, naming no file.
    await expectRefused(() => loadOrCreateSecretBox(dataDir), path);
  });
});
