import { request } from 'node:https';
import type { DeviceView, ProvisioningTokenView } from '@flotilla/shared';
import { apiJson, createSimFleet, provisionDevices, connectDevices, type Simulation } from '../../control-plane/src/sim/simulation';
import { ComposeProject, deployImages } from '../support/compose';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

// End to end: the repository's single-box docker-compose.yml brought up for real with
// Debian's docker-compose on this engine, images built offline (deploy/build-images.sh, cached
// by content): PostgreSQL, the control plane and the registry. The control plane must answer
// /healthz over its published TLS port (verified with the CA its provisioning files carry)
// and a simulated device must register and connect over MQTT/TLS. Then `down -v`.
// The agent service is not started: it needs a provisioning file made by this control plane.
jest.setTimeout(600_000);

const apiKey = 'compose-e2e-operator-key-0123456789abcdef';
let project: ComposeProject;
let ports: Record<'https' | 'mqtts' | 'http' | 'mqtt' | 'registry', number>;
let sim: Pick<Simulation, 'devices' | 'counts' | 'stop'> | undefined;
const timings: Record<string, string> = {};
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

beforeAll(async () => {
  const images = await deployImages();
  timings['images (deploy/build-images.sh)'] = `${images.seconds.toFixed(1)} s`;
  ports = { https: await freePort(), mqtts: await freePort(), http: await freePort(), mqtt: await freePort(), registry: await freePort() };
  project = new ComposeProject('docker-compose.yml', {
    ...images.env,
    FLOTILLA_API_KEY: apiKey,
    FLOTILLA_PUBLISH_HOST: '127.0.0.1',
    FLOTILLA_HTTPS_PORT: String(ports.https),
    FLOTILLA_MQTTS_PORT: String(ports.mqtts),
    FLOTILLA_HTTP_PORT: String(ports.http),
    FLOTILLA_MQTT_PORT: String(ports.mqtt),
    FLOTILLA_REGISTRY_PORT: String(ports.registry),
    FLOTILLA_PUBLIC_MQTT_URL: `mqtts://127.0.0.1:${ports.mqtts}`,
  });
  const t0 = performance.now();
  await project.up(['postgres', 'control-plane', 'registry']);
  timings['docker-compose up'] = seconds(t0);
});

afterAll(async () => {
  await sim?.stop();
  if (project) {
    const t0 = performance.now();
    await project.down();
    timings['docker-compose down -v'] = seconds(t0);
  }
  console.log(
    Object.entries(timings)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  );
});

/** GET over TLS, trusting only the given CA (as a device or browser given the CA would). */
function httpsGet(url: string, ca: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

it('serves /healthz over its published TLS port and takes a simulated device over MQTT/TLS', async () => {
  const apiUrl = `http://127.0.0.1:${ports.http}`;
  const t0 = performance.now();
  await waitFor(
    'the control plane answering /healthz',
    async () => ((await fetch(`${apiUrl}/healthz`)).ok ? true : undefined),
    120_000,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${await project.logs(['control-plane', 'postgres'])}`);
  });
  timings['control plane healthy'] = seconds(t0);

  const fleet = await createSimFleet(apiUrl, apiKey, 'compose-e2e');
  const token = await apiJson<ProvisioningTokenView>(apiUrl, apiKey, '/api/v1/provisioning-tokens', {
    method: 'POST',
    body: JSON.stringify({ maxUses: 1, fleetId: fleet.id }),
  });
  const ca = token.provisioning.caCertificates ?? [];
  expect(ca.length).toBeGreaterThan(0);
  const health = await httpsGet(`https://127.0.0.1:${ports.https}/healthz`, ca);
  expect(health.status).toBe(200);

  const credentials = await provisionDevices({ apiUrl, apiKey, fleetId: fleet.id, count: 2, namePrefix: 'compose' });
  expect(credentials.every((c) => c.tls?.ca?.length)).toBe(true);
  expect(credentials[0]!.mqttUrl).toBe(`mqtts://127.0.0.1:${ports.mqtts}`);
  sim = await connectDevices(credentials, { telemetryEverySeconds: 1 });
  expect(sim.counts().connected).toBe(2);
  for (const c of credentials) {
    await waitFor(`device ${c.deviceId} online in the control plane`, async () =>
      (await apiJson<DeviceView>(apiUrl, apiKey, `/api/v1/devices/${c.deviceId}`)).online ? true : undefined,
    );
  }
});
