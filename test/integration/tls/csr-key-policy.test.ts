import { mkdtempSync, rmSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProvisioningFile } from '@flotilla/shared';
import { postJson } from '../../../agent/src/provisioning/pinned-http';
import { startControlPlane, type RunningControlPlane } from '../../../control-plane/src/bootstrap';
import { loadConfig } from '../../../control-plane/src/config';
import { x509 } from '../../../control-plane/src/tls/x509';
import { ApiClient } from '../../support/api-client';
import { createScratchDatabase, type ScratchDatabase } from '../../support/database';
import { provisioningFile, registerDevice } from './support';

// Integration: which keys the device CA certifies, at registration and on the password-proved
// move to a certificate, over real HTTPS and PostgreSQL. A device's key is its identity on every
// listener: a weak one (RSA below 2048 bits) could be factored and the device impersonated,
// and one no TLS stack of the broker's takes would only fail later, at the handshake.

jest.setTimeout(60_000);

const KEY = 'csr-policy-operator-key-0123456789';
let db: ScratchDatabase;
let dir: string;
let cp: RunningControlPlane;
let p: ProvisioningFile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-csr-'));
  db = await createScratchDatabase('csr_policy');
  cp = await startControlPlane(
    loadConfig({
      ...{ PORT: '0', MQTT_PORT: '0', HTTPS_PORT: '0', MQTTS_PORT: '0' },
      FLOTILLA_DATA_DIR: join(dir, 'cp'),
      DATABASE_URL: db.url,
      FLOTILLA_API_KEY: KEY,
      FLOTILLA_COMPONENTS_DIR: dir,
    }),
  );
  p = await provisioningFile(new ApiClient(cp.httpUrl, KEY), { maxUses: 20 });
});

afterAll(async () => {
  await cp?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type KeySpec = {
  label: string;
  algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams;
  signing: webcrypto.Algorithm | webcrypto.EcdsaParams;
};

const rsa = (bits: number): KeySpec => {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]) };
  return { label: `RSA ${bits}`, algorithm, signing: algorithm };
};
const ec = (curve: string, hash: string): KeySpec => ({
  label: `ECDSA ${curve}`,
  algorithm: { name: 'ECDSA', namedCurve: curve },
  signing: { name: 'ECDSA', hash } as webcrypto.EcdsaParams,
});

async function csrFor(spec: KeySpec): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(spec.algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=whatever', keys, signingAlgorithm: spec.signing });
  return csr.toString('pem');
}

async function register(csr: string): Promise<{ status: number; body: { code?: string; message?: string; certificate?: string } }> {
  const res = await postJson(`${p.apiUrl}/api/v1/devices/register`, { token: p.token, csr }, { ca: p.caCertificates! });
  return { status: res.status, body: JSON.parse(res.text) as { code?: string; certificate?: string } };
}

async function usesTaken(): Promise<number> {
  const [row] = await db.query<{ uses: number }>('SELECT uses FROM provisioning_tokens ORDER BY created_at DESC LIMIT 1');
  return row!.uses;
}

describe('the keys a device certificate is issued for', () => {
  it.each([rsa(2048), ec('P-256', 'SHA-256'), ec('P-384', 'SHA-384')])('certifies $label', async (spec) => {
    const answer = await register(await csrFor(spec));
    expect(answer.status).toBe(201);
    expect(answer.body.certificate).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  // Above 4096 bits: csr-key-policy.test.ts (a key that size takes seconds to make).
  it.each([rsa(1024), rsa(1536), ec('P-521', 'SHA-512')])(
    'refuses $label at registration, naming what it takes, and takes no use of the token',
    async (spec) => {
      const before = await usesTaken();
      const answer = await register(await csrFor(spec));
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({
        code: 'csr_invalid',
        message: expect.stringMatching(/ECDSA P-256 or P-384 key, or RSA of 2048 to 4096 bits/),
      });
      expect(await usesTaken()).toBe(before);
    },
  );

  it('refuses a weak key on the move of a password device to a certificate too', async () => {
    const device = await registerDevice(p, 'password-device', false);
    const res = await postJson(
      `${p.apiUrl}/api/v1/devices/certificate`,
      { csr: await csrFor(rsa(1024)), proof: { kind: 'password', deviceId: device.deviceId, password: device.password } },
      { ca: p.caCertificates! },
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ code: 'csr_invalid' });
  });
});
