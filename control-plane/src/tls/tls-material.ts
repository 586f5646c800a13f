import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  createCertificateAuthority,
  fingerprint,
  importIssuer,
  issueServerCertificate,
  splitPemCertificates,
  x509,
  type KeyAndCertificate,
  type SubjectAltName,
} from './x509';
import { DataFileInvalidError, readIfExists, removeDurable, writeDurable } from '../data-dir/data-file';

/** Where the control plane's TLS identity comes from (control-plane/src/config.ts reads it from the environment). */
export type TlsSource =
  /** A private CA in the data directory issues the server certificate (the default). */
  | { kind: 'generated'; extraNames: string[] }
  /** The operator's certificate (`FLOTILLA_TLS_CERT` / `_KEY`), chain and the CAs devices pin in `FLOTILLA_TLS_CHAIN`. */
  | { kind: 'provided'; certPath: string; keyPath: string; chainPath?: string }
  /** A proxy in front terminates TLS: no TLS listeners here; devices pin the proxy's CA (`FLOTILLA_TLS_CHAIN`). */
  | { kind: 'terminated'; chainPath: string };

/** What the TLS listeners serve and what provisioning hands to devices. */
export interface TlsMaterial {
  /** Absent when a proxy terminates TLS. */
  server?: { keyPem: string; certPem: string; fingerprint: string };
  /** The CA certificates (PEM) a device pins for HTTPS and MQTT: the provisioning file's `caCertificates`. */
  caCertificates: string[];
  /** Issues device client certificates; only its own certificate is ever sent to anyone. */
  deviceCa: KeyAndCertificate;
  /** Files created by this start (shown in the banner). */
  created: string[];
}

export const TLS_DIR = 'tls';
const SERVER_CA_YEARS = 20;
const DEVICE_CA_YEARS = 20;
const SERVER_CERT_DAYS = 397;
/** A generated server certificate is made again this long before it expires, or when the names asked for change. */
const SERVER_RENEW_BEFORE_MS = 30 * 24 * 3600_000;

/**
 * Loads the TLS identity from `<dataDir>/tls/`, creating what is missing. Two CAs, on purpose:
 * devices pin the server CA, so a certificate the device CA issued to a device can never pass
 * as the control plane to another device.
 */
export async function loadOrCreateTlsMaterial(dataDir: string, source: TlsSource): Promise<TlsMaterial> {
  const dir = join(dataDir, TLS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const deviceCa = await loadOrCreateDeviceCa(dir, created);

  if (source.kind === 'terminated') {
    return { caCertificates: await readCertificates(source.chainPath, 'FLOTILLA_TLS_CHAIN'), deviceCa, created };
  }
  if (source.kind === 'provided') {
    const certPem = await readText(source.certPath, 'FLOTILLA_TLS_CERT');
    const keyPem = await readText(source.keyPath, 'FLOTILLA_TLS_KEY');
    const chain = source.chainPath ? await readCertificates(source.chainPath, 'FLOTILLA_TLS_CHAIN') : [];
    const leaf = splitPemCertificates(certPem);
    if (leaf.length === 0) throw new TlsSetupError(`FLOTILLA_TLS_CERT (${source.certPath}) holds no PEM certificate`);
    // Without a chain, the certificate is its own trust anchor (a self-signed one).
    const caCertificates = chain.length > 0 ? chain : leaf.slice(0, 1);
    const served = [...leaf, ...chain.filter((c) => !leaf.includes(c))].join('');
    return { server: { keyPem, certPem: served, fingerprint: fingerprint(leaf[0]!) }, caCertificates, deviceCa, created };
  }

  const serverCa = await loadOrCreateServerCa(dir, created);
  const names = serverNames(source.extraNames);
  const server = await loadOrCreateServerCertificate(dir, serverCa, names, created);
  return { server: { ...server, fingerprint: fingerprint(server.certPem) }, caCertificates: [serverCa.certPem], deviceCa, created };
}

/**
 * localhost, the loopback addresses, this host's name and its interfaces' IPv4 addresses (so boards
 * on the LAN can use https://<address>), and the operator's extra names (`FLOTILLA_TLS_SAN`).
 * When the set changes (a new address), the next start issues a new server certificate from
 * the same CA: devices keep trusting it.
 */
export function serverNames(extra: string[]): SubjectAltName[] {
  const addresses = Object.values(networkInterfaces())
    .flat()
    // IPv4 only: IPv6 addresses come and go (temporary addresses) and would reissue the certificate at every start.
    .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
    .map((a) => a!.address);
  const all = ['localhost', '127.0.0.1', '::1', hostname(), ...addresses, ...extra].map((n) => n.trim().toLowerCase()).filter(Boolean);
  return [...new Set(all)].map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
}

/** `ca.pem`/`ca.key` in `dir`: the CA devices pin (it issues the server certificates). */
export function loadOrCreateServerCa(dir: string, created: string[]): Promise<KeyAndCertificate> {
  return loadOrCreateCa(dir, 'ca', 'Flotilla server CA', SERVER_CA_YEARS, created);
}

/** `device-ca.pem`/`.key` in `dir`: issues device client certificates. */
export function loadOrCreateDeviceCa(dir: string, created: string[]): Promise<KeyAndCertificate> {
  return loadOrCreateCa(dir, 'device-ca', 'Flotilla device CA', DEVICE_CA_YEARS, created);
}

async function loadOrCreateCa(dir: string, base: string, commonName: string, years: number, created: string[]) {
  const existing = await readPair(dir, base);
  if (existing) {
    // A CA cannot be made again without every device that trusts it, or was certified by it, being told.
    const problem = pairProblem(existing);
    if (problem)
      throw new DataFileInvalidError(join(dir, base), `(.pem and .key) ${problem}`, 'restore both from a backup or another replica');
    return existing;
  }
  const pair = await createCertificateAuthority(commonName, years);
  await writePair(dir, base, pair, created);
  return pair;
}

/** `<base>.pem`/`.key` issued by `ca` for `names`, made again when the names change or it nears expiry. */
export async function loadOrCreateServerCertificate(
  dir: string,
  ca: KeyAndCertificate,
  names: SubjectAltName[],
  created: string[],
  base = 'server',
) {
  const existing = await readPair(dir, base).catch((e: unknown) => {
    if (e instanceof TlsSetupError) return undefined; // one of the two is missing: issued again
    throw e;
  });
  // A pair that does not parse or match (a start stopped between its two files) is issued again: the CA is what devices trust.
  if (existing && !pairProblem(existing) && serverCertificateFits(existing.certPem, ca.certPem, names)) return existing;
  const pair = await issueServerCertificate(await importIssuer(ca), names, SERVER_CERT_DAYS);
  await writePair(dir, base, pair, created);
  return pair;
}

function serverCertificateFits(certPem: string, caPem: string, names: SubjectAltName[]): boolean {
  const cert = new X509Certificate(certPem);
  if (!cert.checkIssued(new X509Certificate(caPem))) return false;
  if (new Date(cert.validTo).getTime() - Date.now() < SERVER_RENEW_BEFORE_MS) return false;
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const has = new Set(san?.names.toJSON().map((n) => `${n.type}:${n.value}`) ?? []);
  return names.every((n) => has.has(`${n.type}:${n.value}`));
}

async function readPair(dir: string, base: string): Promise<KeyAndCertificate | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(join(dir, `${base}.pem`)), readIfExists(join(dir, `${base}.key`))]);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    throw new TlsSetupError(`${join(dir, base)}.pem and .key must both exist; restore the missing one or remove both to create a new pair`);
  }
  return { certPem, keyPem };
}

/**
 * The key first, then the certificate; each file is replaced whole (`writeDurable`). A crash
 * between the two leaves a pair that does not match, which `pairProblem` finds at the next start.
 */
async function writePair(dir: string, base: string, pair: KeyAndCertificate, created: string[]): Promise<void> {
  await writeDurable(join(dir, `${base}.key`), pair.keyPem, { mode: 0o600 });
  try {
    await writeDurable(join(dir, `${base}.pem`), pair.certPem, { mode: 0o644 });
  } catch (e) {
    // A new CA's key alone would stop every later start ("must both exist"); it certified nothing yet.
    if (!(await readIfExists(join(dir, `${base}.pem`)))) await removeDurable(join(dir, `${base}.key`)).catch(() => undefined);
    throw e;
  }
  created.push(`${base}.pem`);
}

/** What is wrong with a pair read from disk (torn, not PEM, key of another certificate), or undefined. */
function pairProblem(pair: KeyAndCertificate): string | undefined {
  try {
    const cert = new X509Certificate(pair.certPem);
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) return "hold a key that is not the certificate's";
    return undefined;
  } catch (e) {
    return `do not hold a PEM certificate and its key (${(e as Error).message})`;
  }
}

async function readText(path: string, setting: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new TlsSetupError(`${setting} (${path}) cannot be read: ${(e as Error).message}`);
  }
}

async function readCertificates(path: string, setting: string): Promise<string[]> {
  const certs = splitPemCertificates(await readText(path, setting));
  if (certs.length === 0) throw new TlsSetupError(`${setting} (${path}) holds no PEM certificate`);
  return certs;
}

/** The TLS settings or files cannot be used; the message names the setting or file to fix. */
export class TlsSetupError extends Error {
  override readonly name = 'TlsSetupError';
}
