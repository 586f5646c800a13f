import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selfSignedCertificate } from './issuer-certificate';
import type { TokenIssuer } from './registry-token';

/** Under the data directory: the token-signing key (0600) and its certificate (public; goes into each registry's config). */
export const TOKEN_ISSUER_KEY_FILE = 'registry-token-issuer.key';
export const TOKEN_ISSUER_CERT_FILE = 'registry-token-issuer.crt';

/** The `iss` of every token this control plane signs. */
export const TOKEN_ISSUER_NAME = 'flotilla';

/**
 * The issuer in `<dataDir>`, made on first start (an EC P-256 key and a 20-year self-signed
 * certificate). Every replica needs the same two files, as with `secrets.key` beside them. To
 * rotate: replace both files and each registry's `rootcertbundle`, then restart.
 */
export async function loadOrCreateTokenIssuer(dataDir: string, now = new Date()): Promise<TokenIssuer> {
  const keyPath = join(dataDir, TOKEN_ISSUER_KEY_FILE);
  const certPath = join(dataDir, TOKEN_ISSUER_CERT_FILE);
  const [keyPem, certPem] = await Promise.all([readIfThere(keyPath), readIfThere(certPath)]);
  if (keyPem && certPem) {
    const issuer = { name: TOKEN_ISSUER_NAME, privateKey: createPrivateKey(keyPem), certificate: new X509Certificate(certPem) };
    if (!issuer.certificate.checkPrivateKey(issuer.privateKey))
      throw new Error(`${certPath} does not belong to ${keyPath}: replace both, or remove both to make new ones`);
    return issuer;
  }
  if (keyPem || certPem)
    throw new Error(`only one of ${keyPath} and ${certPath} exists: restore the other, or remove both to make new ones`);
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificate = selfSignedCertificate(pair, 'flotilla registry token issuer', now, 20);
  try {
    // `wx`: a replica that made its key first wins, and its files are read back.
    await writeFile(keyPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    await waitFor(certPath);
    return loadOrCreateTokenIssuer(dataDir, now);
  }
  await writeFile(certPath, certificate.toString(), { mode: 0o644 });
  return { name: TOKEN_ISSUER_NAME, privateKey: pair.privateKey, certificate };
}

async function readIfThere(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/** The certificate follows its key within milliseconds when another process made them. */
async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 50 && !(await readIfThere(path)); i++) await new Promise((r) => setTimeout(r, 20));
}
