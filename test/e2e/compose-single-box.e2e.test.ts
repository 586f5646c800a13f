import { request } from 'node:https';
import type { DeviceView, ProvisioningTokenView } from '@flotilla/shared';
import { apiJson, createSimFleet, provisionDevices, connectDevices, type Simulation } from '../../cli/src/sim/simulation';
import { ComposeProject, deployImages, probeStatus } from '../support/compose';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

// End to end: the repository's single-box docker-compose.yml brought up for real with
// Debian's docker-compose on this engine, images built offline (deploy/build-images.sh, cached
// by content): PostgreSQL, the control plane and the registry. The control plane must answer
// /healthz over its published TLS port (verified with the CA its provisioning files carry)
// and a simulated device must register and connect over MQTT/TLS. Then `down -v`.
// The agent service is not started: it needs a provisioning file made by this control plane.
// Every step is bounded; a failed or late step fails with the services' logs. Measured on the
// 2-core test machine: 8-10 s in all with the images built; images 22-40 s when the application
// changed, 119 s on a first run (Debian base by debootstrap, then every image); up 4 s,
// checks 2 s, down 1 s. The bounds are a few times those.
const IMAGES_MS = 300_000;
const UP_MS = 90_000;
const CHECKS_MS = 60_000;
const DOWN_MS = 60_000;
jest.setTimeout(CHECKS_MS + 30_000);

const apiKey = 'compose-e2e-operator-key-0123456789abcdef';
let project: ComposeProject;
let ports: Record<'https' | 'mqtts' | 'http' | 'mqtt' | 'registry', number>;
let sim: Pick<Simulation, 'devices' | 'counts' | 'stop'> | undefined;
const timings: Record<string, string> = {};
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
// Progress on stderr as it happens: Jest prints console output only when the file ends.
const step = (what: string) => process.stderr.write(`[compose-single-box ${new Date().toISOString()}] ${what}\n`);

beforeAll(async () => {
  step('building images (deploy/build-images.sh)');
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
  step(`docker-compose up (project ${project.name})`);
  const t0 = performance.now();
  await project.up(['postgres', 'control-plane', 'registry'], UP_MS);
  timings['docker-compose up'] = seconds(t0);
}, IMAGES_MS + UP_MS);

afterAll(async () => {
  await sim?.stop();
  if (project) {
    step('docker-compose down -v');
    const t0 = performance.now();
    await project.down(DOWN_MS);
    timings['docker-compose down -v'] = seconds(t0);
  }
  console.log(
    Object.entries(timings)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  );
}, DOWN_MS + 10_000);

/** GET over TLS, trusting only the given CA (as a device or browser given the CA would). */
function httpsGet(url: string, ca: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 5 s`)));
    req.on('error', reject).end();
  });
}

/** `checks` under one deadline; when they fail or run late, the error carries the services' logs. */
async function withinDeadline(ms: number, checks: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the checks took longer than ${ms / 1000} s`)), ms);
  });
  try {
    await Promise.race([checks(), late]);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- docker-compose logs ---\n${await project.logs(['control-plane', 'postgres'])}`, {
      cause: e,
    });
  } finally {
    clearTimeout(timer);
  }
}

it('serves /healthz over its published TLS port and takes a simulated device over MQTT/TLS', async () => {
  const apiUrl = `http://127.0.0.1:${ports.http}`;
  // Every API call below gives up after 15 s rather than waiting for fetch's own 300 s.
  const bounded = (init: RequestInit = {}): RequestInit => ({ ...init, signal: AbortSignal.timeout(15_000) });
  await withinDeadline(CHECKS_MS, async () => {
    const t0 = performance.now();
    // Probed on connections of its own (probeStatus says why) before fetch is used at all.
    await waitFor(
      'the control plane answering /healthz',
      async () => ((await probeStatus(`${apiUrl}/healthz`)) === 200 ? true : undefined),
      45_000,
    );
    timings['control plane healthy'] = seconds(t0);

    step('healthy; creating a fleet and a provisioning token');
    const fleet = await createSimFleet(apiUrl, apiKey, 'compose-e2e');
    const token = await apiJson<ProvisioningTokenView>(
      apiUrl,
      apiKey,
      '/api/v1/provisioning-tokens',
      bounded({ method: 'POST', body: JSON.stringify({ maxUses: 1, fleetId: fleet.id }) }),
    );
    const ca = token.provisioning.caCertificates ?? [];
    expect(ca.length).toBeGreaterThan(0);
    const health = await httpsGet(`https://127.0.0.1:${ports.https}/healthz`, ca);
    expect(health.status).toBe(200);

    step('registering 2 devices');
    const credentials = await provisionDevices({ apiUrl, apiKey, fleetId: fleet.id, count: 2, namePrefix: 'compose' });
    expect(credentials.every((c) => c.tls?.ca?.length)).toBe(true);
    expect(credentials[0]!.mqttUrl).toBe(`mqtts://127.0.0.1:${ports.mqtts}`);
    step('connecting 2 devices over MQTT/TLS');
    sim = await connectDevices(credentials, { telemetryEverySeconds: 1 });
    expect(sim.counts().connected).toBe(2);
    for (const c of credentials) {
      await waitFor(`device ${c.deviceId} online in the control plane`, async () =>
        (await apiJson<DeviceView>(apiUrl, apiKey, `/api/v1/devices/${c.deviceId}`, bounded())).online ? true : undefined,
      );
    }
    timings['checks'] = seconds(t0);
    step('checks passed');
  });
});
