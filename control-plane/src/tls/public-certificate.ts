import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { TLS_DIR, loadOrCreateDeviceCa, loadOrCreateServerCa, loadOrCreateServerCertificate } from './tls-material';
import { fingerprint, type SubjectAltName } from './x509';

type Env = Readonly<Record<string, string | undefined>>;

/** What the broker nodes and the replicas behind a load balancer serve and verify with (paths in `<dataDir>/tls`). */
export interface PublicTlsFiles {
  /** `public.pem`: the server certificate for the public names. */
  certFile: string;
  keyFile: string;
  /** `ca.pem`: the CA that issued it, which provisioning files hand to devices to pin. */
  caFile: string;
  /** `device-ca.pem`: the CA of the device client certificates. */
  deviceCaFile: string;
  /** SHA-256 of the certificate. */
  fingerprint: string;
  /** Files this call created. */
  created: string[];
}

/**
 * In `<dataDir>/tls`, the server CA and the device CA (made if missing, as the control plane's
 * own start would) and `public.pem`/`public.key`: a server certificate from that CA for the names
 * devices reach the fleet by. A RabbitMQ node's MQTT/TLS listener serves it through a TCP load
 * balancer (so the names are the balancer's), and replicas can serve it for HTTPS
 * (`FLOTILLA_TLS_CERT`). Unlike `server.pem` it holds no per-machine names, so every node and
 * replica shares it; it is made again when the names change or it nears expiry.
 */
export async function loadOrCreatePublicCertificate(dataDir: string, names: SubjectAltName[]): Promise<PublicTlsFiles> {
  const dir = join(dataDir, TLS_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  const serverCa = await loadOrCreateServerCa(dir, created);
  await loadOrCreateDeviceCa(dir, created);
  const pair = await loadOrCreateServerCertificate(dir, serverCa, names, created, 'public');
  return {
    certFile: join(dir, 'public.pem'),
    keyFile: join(dir, 'public.key'),
    caFile: join(dir, 'ca.pem'),
    deviceCaFile: join(dir, 'device-ca.pem'),
    fingerprint: fingerprint(pair.certPem),
    created,
  };
}

/**
 * The loopback names, the hosts of `FLOTILLA_PUBLIC_MQTT_URL` and `FLOTILLA_PUBLIC_API_URL`, and
 * `FLOTILLA_TLS_SAN` (comma-separated): the names a device may use to reach the load balancer.
 */
export function publicNames(env: Env): SubjectAltName[] {
  const hosts = ['FLOTILLA_PUBLIC_MQTT_URL', 'FLOTILLA_PUBLIC_API_URL'].flatMap((name) => {
    const raw = env[name]?.trim();
    if (!raw) return [];
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`${name}: "${raw}" is not a URL`);
    }
    // URL keeps the brackets of an IPv6 literal.
    return [url.hostname.replace(/^\[(.*)\]$/, '$1')];
  });
  const extra = (env.FLOTILLA_TLS_SAN ?? '').split(',');
  const all = ['localhost', '127.0.0.1', '::1', ...hosts, ...extra].map((n) => n.trim().toLowerCase()).filter(Boolean);
  return [...new Set(all)].map((value) => ({ type: isIP(value) ? 'ip' : 'dns', value }));
}
