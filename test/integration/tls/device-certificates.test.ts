import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { ProvisioningFile } from '@flotilla/shared';
import { certificateRequest } from '../../../agent/src/provisioning/certificate-request';
import { MqttLink } from '../../../agent/src/link/mqtt-link';
import { keepCertificateCurrent, type DeviceCertificate } from '../../../agent/src/provisioning/certificate-renewal';
import { postJson } from '../../../agent/src/provisioning/pinned-http';
import { systemClock } from '../../../agent/src/support/clock';
import { silentLogger } from '../../../agent/src/support/logger';
import { startControlPlane, type RunningControlPlane } from '../../../control-plane/src/bootstrap';
import { loadConfig } from '../../../control-plane/src/config';
import { STRICT_TRANSPORT_SECURITY } from '../../../control-plane/src/http/security-headers';
import { EC_P256, createCertificateAuthority, importIssuer, x509 } from '../../../control-plane/src/tls/x509';
import { ApiClient } from '../../support/api-client';
import { createScratchDatabase, type ScratchDatabase } from '../../support/database';
import { waitFor } from '../../support/wait';
import { connectDevice, provisioningFile, refusal, registerDevice, type TestDevice } from './support';

// Integration: the control plane started from its default settings (TLS on, plain listeners on
// loopback), real TLS handshakes with certificates from its own device CA, real PostgreSQL.

jest.setTimeout(60_000);

const KEY = 'tls-test-operator-key-0123456789';
let db: ScratchDatabase;
let dir: string;
let cp: RunningControlPlane;
let api: ApiClient;
let p: ProvisioningFile;
let tls: NonNullable<RunningControlPlane['tls']>;
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-'));
  db = await createScratchDatabase('tls_certs');
  cp = await startControlPlane(config());
  tls = cp.tls!;
  api = new ApiClient(cp.httpUrl, KEY);
  p = await provisioningFile(api);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await cp?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The defaults (`npm start`), with free ports and this test's database and data directory. */
function config() {
  const ports = { PORT: '0', MQTT_PORT: '0', HTTPS_PORT: '0', MQTTS_PORT: '0' };
  return loadConfig({
    ...ports,
    FLOTILLA_DATA_DIR: join(dir, 'cp'),
    DATABASE_URL: db.url,
    FLOTILLA_API_KEY: KEY,
    FLOTILLA_COMPONENTS_DIR: dir,
  });
}

function keep(client: MqttClient): MqttClient {
  clients.push(client);
  return client;
}

const mtls = (d: TestDevice) => ({ cert: d.certPem!, key: d.keyPem });

describe('TLS by default', () => {
  it('hands devices https and mqtts URLs and the CA, and both listeners verify with that CA alone, in TLS 1.3', async () => {
    expect(p.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(p.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(p.caCertificates).toHaveLength(1);
    const caFile = join(dir, 'provisioning-ca.pem');
    writeFileSync(caFile, p.caCertificates!.join(''));
    for (const url of [p.apiUrl, p.mqttUrl]) {
      const { port } = new URL(url);
      // Asynchronously: the listeners live in this process and must keep answering meanwhile.
      const text = await openssl([
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-CAfile',
        caFile,
        '-verify_return_error',
        '-verify_ip',
        '127.0.0.1',
        '-brief',
      ]);
      expect(text).toContain('Verification: OK');
      expect(text).toContain('Protocol version: TLSv1.3');
    }
  });

  it('tells browsers to stay on HTTPS (Strict-Transport-Security), on TLS answers only', async () => {
    const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) =>
      httpsGet(`${p.apiUrl}/healthz`, { ca: p.caCertificates! }, (res) => resolve(res.resume().headers)).on('error', reject),
    );
    expect(headers['strict-transport-security']).toBe(STRICT_TRANSPORT_SECURITY);
    expect((await fetch(`${cp.httpUrl}/healthz`)).headers.get('strict-transport-security')).toBeNull();
  });

  it('binds the plain HTTP and MQTT listeners to 127.0.0.1 only, the TLS ones to all interfaces', () => {
    const listening = execFileSync('ss', ['-ltnH'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[3])
      .filter((local): local is string => !!local);
    const boundFor = (port: string) =>
      listening.filter((local) => local.endsWith(`:${port}`)).map((local) => local.slice(0, local.lastIndexOf(':')));
    expect(boundFor(new URL(cp.httpUrl).port)).toEqual(['127.0.0.1']);
    expect(boundFor(new URL(cp.mqttUrl).port)).toEqual(['127.0.0.1']);
    expect(boundFor(new URL(tls.httpsUrl).port)).toEqual(['0.0.0.0']);
    expect(boundFor(new URL(tls.mqttsUrl).port)).toEqual(['0.0.0.0']);
  });
});

describe('a certificate per device', () => {
  let a: TestDevice;
  let b: TestDevice;

  beforeAll(async () => {
    a = await registerDevice(p, 'cert-a');
    b = await registerDevice(p, 'cert-b');
  });

  it('issues a certificate for the CSR key, subject = device id, and no password', () => {
    expect(a.password).toBeUndefined();
    const cert = new x509.X509Certificate(a.certPem!);
    expect(cert.subject).toBe(`CN=${a.deviceId}`);
    const spki = createPublicKey(createPrivateKey(a.keyPem)).export({ type: 'spki', format: 'der' });
    expect(Buffer.from(cert.publicKey.rawData).equals(spki)).toBe(true);
  });

  it('connects with mutual TLS over mqtts and over wss, with no password', async () => {
    keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, a.deviceId, mtls(a))).end();
    keep(await connectDevice(tls.mqttWssUrl, p.caCertificates!, a.deviceId, mtls(a))).end();
  });

  it("refuses another device's certificate, no certificate, and a certificate from another CA", async () => {
    expect(await refusal(connectDevice(tls.mqttsUrl, p.caCertificates!, b.deviceId, mtls(a)))).toMatch(/Identifier rejected/i);
    expect(await refusal(connectDevice(tls.mqttsUrl, p.caCertificates!, a.deviceId, {}))).toMatch(/Bad username or password/i);
    const rogueCa = await importIssuer(await createCertificateAuthority('rogue CA', 1));
    const rogue = await certificateFor(rogueCa, a.deviceId, a.keyPem, new Date(Date.now() + 3600_000));
    expect(await refusal(connectDevice(tls.mqttsUrl, p.caCertificates!, a.deviceId, { cert: rogue, key: a.keyPem }))).toMatch(
      /Not authorized/i,
    );
  });

  it('refuses an expired certificate of its own device CA', async () => {
    const deviceCa = await importIssuer({
      certPem: readFileSync(join(dir, 'cp', 'tls', 'device-ca.pem'), 'utf8'),
      keyPem: readFileSync(join(dir, 'cp', 'tls', 'device-ca.key'), 'utf8'),
    });
    const expired = await certificateFor(deviceCa, a.deviceId, a.keyPem, new Date(Date.now() - 60_000));
    expect(await refusal(connectDevice(tls.mqttsUrl, p.caCertificates!, a.deviceId, { cert: expired, key: a.keyPem }))).toMatch(
      /Not authorized/i,
    );
  });

  it('keeps password devices working over TLS', async () => {
    const old = await registerDevice(p, 'password-device', false);
    expect(old.certPem).toBeUndefined();
    keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, old.deviceId, { username: old.deviceId, password: old.password! })).end();
  });

  it('renews for the same key with the current certificate as proof, and refuses a CSR for any other key', async () => {
    const renewed = await certificateCall({ csr: csrFor(a.keyPem, a.deviceId), proof: { kind: 'certificate', certificate: a.certPem } });
    expect(renewed.status).toBe(201);
    const next = JSON.parse(renewed.text) as { certificate: string; deviceId: string };
    expect(next.deviceId).toBe(a.deviceId);
    keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, a.deviceId, { cert: next.certificate, key: a.keyPem })).end();

    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const stolen = await certificateCall({
      csr: certificateRequest(privateKey, a.deviceId),
      proof: { kind: 'certificate', certificate: a.certPem },
    });
    expect(stolen.status).toBe(400);
  });

  it('moves a password device to a certificate with its password as proof', async () => {
    const old = await registerDevice(p, 'moving-device', false);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const res = await certificateCall({
      csr: certificateRequest(privateKey, old.deviceId),
      proof: { kind: 'password', deviceId: old.deviceId, password: old.password },
    });
    expect(res.status).toBe(201);
    const { certificate } = JSON.parse(res.text) as { certificate: string };
    const key = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, old.deviceId, { cert: certificate, key })).end();
  });

  it('the agent moves a password device to a certificate by itself, with its password, over the pinned CA', async () => {
    const old = await registerDevice(p, 'agent-moving', false);
    const stateDir = mkdtempSync(join(dir, 'agent-'));
    const stop = new AbortController();
    const issued = new Promise<DeviceCertificate>((resolve) => {
      void keepCertificateCurrent({
        stateDir,
        credential: { deviceId: old.deviceId, password: old.password!, apiUrl: p.apiUrl, caCertificates: p.caCertificates! },
        current: undefined,
        onCertificate: resolve,
        clock: systemClock,
        logger: silentLogger,
        signal: stop.signal,
      });
    });
    const certificate = await issued;
    stop.abort();
    expect(new x509.X509Certificate(certificate.certPem).subject).toBe(`CN=${old.deviceId}`);
    expect(readFileSync(join(stateDir, 'device-key.pem'), 'utf8')).toBe(certificate.keyPem);
    keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, old.deviceId, { cert: certificate.certPem, key: certificate.keyPem })).end();
  });

  it("the agent's link trusts only the pinned CAs: another CA's broker certificate never connects", async () => {
    const rogueCa = await createCertificateAuthority('rogue CA', 1);
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (msg: string, fields?: Record<string, unknown>) => void warnings.push(`${msg} ${String(fields?.error)}`),
    };
    const link = new MqttLink({
      credential: { deviceId: a.deviceId, mqttUrl: tls.mqttsUrl, caCertificates: [rogueCa.certPem] },
      certificate: { certPem: a.certPem!, keyPem: a.keyPem },
      logger,
      heldRev: () => 0,
      onDesired: () => undefined,
      onCommand: () => Promise.reject(new Error('no commands here')),
      // One attempt within the test: the next would come a minute later.
      reconnect: { baseMs: 60_000, capMs: 60_000, stableMs: 60_000, bootSpreadMs: 0 },
    });
    link.start();
    await waitFor('a TLS verification error', async () => (warnings.some((w) => /certificate/i.test(w)) ? true : undefined), 10_000, 50);
    expect(link.connected).toBe(false);
    await link.stop();
  });

  it('decommissioning closes the live connections on every listener and refuses the certificate from then on', async () => {
    const overTls = keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, b.deviceId, mtls(b)));
    const closedTls = new Promise<void>((resolve) => overTls.once('close', () => resolve()));
    // The same device over WebSocket takes over the session [MQTT-3.1.4-2]: a second device id makes both live at once.
    const c = await registerDevice(p, 'cert-c');
    const overWss = keep(await connectDevice(tls.mqttWssUrl, p.caCertificates!, c.deviceId, mtls(c)));
    const closedWss = new Promise<void>((resolve) => overWss.once('close', () => resolve()));

    for (const d of [b, c]) expect((await fetchDelete(`/api/v1/devices/${d.deviceId}`)).status).toBeLessThan(300);
    await Promise.all([closedTls, closedWss]);

    expect(await refusal(connectDevice(tls.mqttsUrl, p.caCertificates!, b.deviceId, mtls(b)))).toMatch(/Not authorized/i);
    expect(await refusal(connectDevice(tls.mqttWssUrl, p.caCertificates!, c.deviceId, mtls(c)))).toMatch(/Not authorized/i);
    const renewal = await certificateCall({ csr: csrFor(b.keyPem, b.deviceId), proof: { kind: 'certificate', certificate: b.certPem } });
    expect(renewal.status).toBe(401);
  });

  it('after a restart keeps its CAs and its revocations (the revoked set is loaded at start)', async () => {
    await cp.close();
    cp = await startControlPlane(config());
    tls = cp.tls!;
    expect(tls.created).toEqual([]);
    expect(tls.caCertificates).toEqual(p.caCertificates);
    expect(await refusal(connectDevice(tls.mqttsUrl, p.caCertificates!, b.deviceId, mtls(b)))).toMatch(/Not authorized/i);
    keep(await connectDevice(tls.mqttsUrl, p.caCertificates!, a.deviceId, mtls(a))).end();
  });
});

/** openssl's stdout and stderr; stdin closed at once, so s_client ends after the handshake. */
function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end();
  });
}

async function certificateCall(body: object) {
  return postJson(`${p.apiUrl}/api/v1/devices/certificate`, body, { ca: p.caCertificates! });
}

function csrFor(keyPem: string, cn: string): string {
  return certificateRequest(createPrivateKey(keyPem), cn);
}

async function fetchDelete(path: string): Promise<{ status: number }> {
  const res = await fetch(`${cp.httpUrl}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY}` } });
  return { status: res.status };
}

/** A client certificate for the key in `keyPem`, signed by `issuer`, valid until `notAfter` (in the past for an expired one). */
async function certificateFor(
  issuer: Awaited<ReturnType<typeof importIssuer>>,
  cn: string,
  keyPem: string,
  notAfter: Date,
): Promise<string> {
  const spki = createPrivateKey(keyPem);
  const publicKey = await webcrypto.subtle.importKey('spki', createPublicKey(spki).export({ type: 'spki', format: 'der' }), EC_P256, true, [
    'verify',
  ]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0ffee',
    subject: `CN=${cn}`,
    issuer: issuer.certificate.subject,
    notBefore: new Date(notAfter.getTime() - 3600_000),
    notAfter,
    publicKey,
    signingKey: issuer.key,
    signingAlgorithm: EC_P256,
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
  });
  return cert.toString('pem');
}
