import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { dirname, join } from 'node:path';
import { DataFileInvalidError, readIfExists, writeDurable } from '../../data-dir/data-file';
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
  const [keyPem, certPem] = await Promise.all([readIfExists(keyPath), readIfExists(certPath)]);
  if (keyPem === undefined && certPem !== undefined)
    throw new DataFileInvalidError(
      keyPath,
      'is missing beside its certificate',
      `restore it, or remove ${certPath} as well to make new ones`,
    );
  if (keyPem === undefined) {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    try {
      // Exclusive: a replica that made its key first wins, and its files are read back.
      await writeDurable(keyPath, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, exclusive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return loadOrCreateTokenIssuer(dataDir, now);
    }
    return withCertificate(pair.privateKey, certPath, now);
  }
  const privateKey = parse(keyPath, () => createPrivateKey(keyPem), 'is not a PEM private key');
  // A start that stopped between the two files left the key alone: its certificate is made from it again.
  if (certPem === undefined) return withCertificate(privateKey, certPath, now);
  const certificate = parse(certPath, () => new X509Certificate(certPem), 'is not a PEM certificate');
  if (!certificate.checkPrivateKey(privateKey))
    throw new DataFileInvalidError(certPath, `does not belong to ${keyPath}`, 'replace both, or remove both to make new ones');
  return { name: TOKEN_ISSUER_NAME, privateKey, certificate };
}

/** The issuer's self-signed certificate, written once; one that another replica wrote first is read back. */
async function withCertificate(privateKey: KeyObject, certPath: string, now: Date): Promise<TokenIssuer> {
  const certificate = selfSignedCertificate(
    { privateKey, publicKey: createPublicKey(privateKey) },
    'flotilla registry token issuer',
    now,
    20,
  );
  try {
    await writeDurable(certPath, certificate.toString(), { mode: 0o644, exclusive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return loadOrCreateTokenIssuer(dirname(certPath), now);
  }
  return { name: TOKEN_ISSUER_NAME, privateKey, certificate };
}

function parse<T>(path: string, read: () => T, problem: string): T {
  try {
    return read();
  } catch (e) {
    throw new DataFileInvalidError(
      path,
      `${problem} (${(e as Error).message})`,
      'restore it from a backup or another replica, or remove the issuer key and certificate to make new ones (then give each registry the new certificate)',
    );
  }
}
