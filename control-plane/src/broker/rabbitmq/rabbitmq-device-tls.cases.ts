import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { PROTOCOL_SCHEMA, deviceTopic, type RegisterDeviceResponse } from '@flotilla/shared';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { openDesired } from '../../testing/desired';
import { eventually, nextMessage } from '../../testing/harness';
import { idleReport as reported } from '../../testing/reports';
import type { PublicTlsFiles } from '../../tls/public-certificate';
import { EC_P256, createCertificateAuthority, exportKeyPem, importIssuer, issueClientCertificate, newKeyPair, x509 } from '../../tls/x509';

/** What the cluster test (rabbitmq-cluster.int.test.ts) hands these cases: one cluster serves both. */
export interface DeviceTlsFixture {
  /** The balancer over the nodes' MQTT/TLS listeners. */
  mqttsUrl(): string;
  /** The files the nodes serve and verify with (tls/public-certificate.ts). */
  tls(): PublicTlsFiles;
  /** A replica's plain API (operator key added for `/api/v1` calls that need it). */
  api(path: string, init?: RequestInit): Promise<Response>;
  releaseId(): string;
  deviceEvents(ids: string[]): Promise<number>;
}

interface CertificateDevice {
  deviceId: string;
  cert: string;
  key: string;
  releaseKeys: RegisterDeviceResponse['releaseKeys'];
}

/**
 * Devices on RabbitMQ over MQTT/TLS with their own certificates (issue 14, security): the listener,
 * the certificate login, and the refusals the embedded broker makes, against the real cluster.
 */
export function describeDeviceTls(fx: DeviceTlsFixture): void {
  const clients = new Set<MqttClient>();
  let ca: string[];

  afterAll(async () => {
    await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => undefined)));
  });

  async function register(): Promise<CertificateDevice> {
    const token = (await (await fx.api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' })).json()) as { token: string };
    // As the agent: a key of its own, and a CSR for it beside the token.
    const keys = await newKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=tls-device', keys, signingAlgorithm: EC_P256 });
    const res = await fx.api('/api/v1/devices/register', {
      method: 'POST',
      body: JSON.stringify({ token: token.token, csr: csr.toString('pem') }),
    });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
    const answer = (await res.json()) as RegisterDeviceResponse;
    if (!answer.certificate) throw new Error('registration answered no certificate');
    expect(answer.mqttUrl).toBe(fx.mqttsUrl());
    const key = await exportKeyPem(keys.privateKey);
    return { deviceId: answer.deviceId, cert: answer.certificate, key, releaseKeys: answer.releaseKeys };
  }

  /** As the agent connects with a certificate: no username, client id = device id, the pinned CA only. */
  async function connect(options: IClientOptions): Promise<MqttClient> {
    ca ??= [await readFile(fx.tls().caFile, 'utf8')];
    const client = await connectAsync(fx.mqttsUrl(), {
      ca,
      rejectUnauthorized: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...options,
    });
    clients.add(client);
    return client;
  }
  const connectAs = (d: CertificateDevice, options: IClientOptions = {}) =>
    connect({ clientId: d.deviceId, cert: d.cert, key: d.key, ...options });

  /** Resolves when the broker closes the client's connection; rejects if it stays open for 15 s. */
  function closed(client: MqttClient): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!client.connected) return resolve();
      const timer = setTimeout(() => reject(new Error('the connection stayed open')), 15_000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  describe('devices over MQTT/TLS with their own certificates', () => {
    it('serves TLS 1.2 and 1.3 only, with the chain of the CA devices pin, and asks for device certificates', async () => {
      const port = new URL(fx.mqttsUrl()).port;
      const sClient = (...args: string[]) =>
        openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', fx.tls().caFile, '-verify_return_error', ...args]);
      const tls13 = await sClient('-brief');
      expect(tls13.status).toBe(0);
      expect(tls13.stderr).toMatch(/Protocol version: TLSv1\.3/);
      expect(tls13.stderr).toMatch(/Verification: OK/);
      const tls12 = await sClient('-tls1_2', '-showcerts');
      expect(tls12.status).toBe(0);
      expect(tls12.stdout).toMatch(/Protocol *: TLSv1\.2/);
      expect(tls12.stdout).toMatch(/i:CN *= *Flotilla server CA/);
      expect(tls12.stdout).toMatch(/Verify return code: 0 \(ok\)/);
      expect(tls12.stdout).toMatch(/Acceptable client certificate CA names\n\/?CN *= *Flotilla device CA/);
      // The client allowed to offer them (OpenSSL 3 refuses them itself at its default security level): the node refuses.
      for (const old of ['-tls1_1', '-tls1']) {
        const refused = await sClient(old, '-cipher', 'DEFAULT@SECLEVEL=0');
        expect(refused.status).not.toBe(0);
        expect(refused.stdout + refused.stderr).toMatch(/alert protocol version/);
      }
    });

    it('logs a device in by its certificate alone: it gets its desired and its reports are stored', async () => {
      const d = await register();
      const client = await connectAs(d);
      const topic = deviceTopic(d.deviceId, 'desired');
      await client.subscribeAsync(topic, { qos: 1 });
      const arriving = nextMessage(client, topic, 10_000);
      const assigned = await fx.api(`/api/v1/devices/${d.deviceId}/release`, {
        method: 'PUT',
        body: JSON.stringify({ releaseId: fx.releaseId() }),
      });
      expect(assigned.status).toBe(200);
      const desired = openDesired((await arriving).payload, d.releaseKeys);
      expect(desired).toMatchObject({ deviceId: d.deviceId, rev: 1 });
      await client.publishAsync(deviceTopic(d.deviceId, 'reported'), JSON.stringify(reported(desired.rev)), { qos: 1 });
      await eventually(async () => (await view(fx, d.deviceId)).reported?.rev === 1, 10_000, 'reported rev 1');
    });

    it('keeps the password login of a device registered without a certificate, over TLS', async () => {
      const token = (await (await fx.api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' })).json()) as { token: string };
      const res = await fx.api('/api/v1/devices/register', { method: 'POST', body: JSON.stringify({ token: token.token }) });
      const d = (await res.json()) as RegisterDeviceResponse;
      expect(d.certificate).toBeUndefined();
      const client = await connect({ clientId: d.deviceId, username: d.deviceId, password: d.password! });
      await client.subscribeAsync(deviceTopic(d.deviceId, 'desired'), { qos: 1 });
      expect(client.connected).toBe(true);
      await expect(connect({ clientId: d.deviceId, username: d.deviceId, password: `${d.password!}x` })).rejects.toThrow(
        /Bad username or password|Not authorized/,
      );
    });

    it('refuses another device id, a certificate of another CA, no certificate, and a decommissioned device', async () => {
      const [me, other, revoked] = [await register(), await register(), await register()];
      // Its own certificate, another device's client id: that session is not its to take over.
      await expect(connectAs(me, { clientId: other.deviceId })).rejects.toThrow(/Not authorized/);
      // Certificates naming the other device, from a CA of its own and from the CA devices pin for the server.
      const ownCa = await createCertificateAuthority('Not the device CA', 1);
      const serverCa = {
        certPem: await readFile(fx.tls().caFile, 'utf8'),
        keyPem: await readFile(fx.tls().caFile.replace(/\.pem$/, '.key'), 'utf8'),
      };
      for (const issuer of [ownCa, serverCa]) {
        const keys = await newKeyPair();
        const forged = await issueClientCertificate(await importIssuer(issuer), other.deviceId, keys.publicKey, 3600);
        await expect(
          connect({ clientId: other.deviceId, cert: forged.toString('pem'), key: await exportKeyPem(keys.privateKey) }),
        ).rejects.toThrow();
      }
      // No certificate: nothing to log in with, and a certificate device has no password.
      await expect(connect({ clientId: me.deviceId })).rejects.toThrow(/Bad username or password|Not authorized/);
      await expect(connect({ clientId: me.deviceId, username: me.deviceId, password: 'guessed' })).rejects.toThrow(
        /Bad username or password|Not authorized/,
      );
      // Decommissioning revokes its certificates: a certificate that still verifies is refused.
      expect((await fx.api(`/api/v1/devices/${revoked.deviceId}/decommission`, { method: 'POST' })).status).toBe(200);
      await expect(connectAs(revoked)).rejects.toThrow(/Bad username or password|Not authorized/);
      // Its own certificate still works.
      expect((await connectAs(me)).connected).toBe(true);
    });

    it("keeps a certificate device off another device's topics and closes it when it is decommissioned", async () => {
      const [me, other] = [await register(), await register()];
      for (const filter of [deviceTopic(other.deviceId, 'desired'), 'flotilla/v1/d/+/cmd', 'flotilla/v1/#']) {
        const client = await connectAs(me);
        const gone = closed(client);
        await client.subscribeAsync(filter, { qos: 1 }).catch(() => undefined);
        await gone;
      }
      // A forged report closes the forger; the other device's own event, sent after, is the barrier.
      const forger = await connectAs(me);
      const gone = closed(forger);
      void forger.publishAsync(deviceTopic(other.deviceId, 'reported'), JSON.stringify(reported(99)), { qos: 1 }).catch(() => undefined);
      await gone;
      const victim = await connectAs(other);
      const event = { schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), kind: 'apply-started', message: 'barrier' };
      await victim.publishAsync(deviceTopic(other.deviceId, 'events'), JSON.stringify(event), { qos: 1 });
      await eventually(async () => (await fx.deviceEvents([other.deviceId])) === 1, 10_000, 'the barrier event');
      expect((await view(fx, other.deviceId)).reported).toBeNull();

      const ending = closed(victim);
      expect((await fx.api(`/api/v1/devices/${other.deviceId}/decommission`, { method: 'POST' })).status).toBe(200);
      await ending;
    });
  });
}

async function view(fx: DeviceTlsFixture, id: string): Promise<{ reported: { rev: number } | null }> {
  return (await (await fx.api(`/api/v1/devices/${id}`)).json()) as { reported: { rev: number } | null };
}

/** openssl with stdin closed at once; asynchronous, as the balancer it talks through runs in this process. */
function openssl(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
