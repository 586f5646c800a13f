import type { ApiError, ComponentView, ReleaseDiff, ReleaseView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const mosquitto = `
name: mosquitto
version: 2.0.18
description: MQTT broker
image: 127.0.0.1:5000/flotilla/mosquitto@${digest('d')}
environment: { LOG_LEVEL: info, PERSIST: "true" }
ports: ["1883:1883"]
volumes: ["mqtt-data:/mosquitto/data"]
healthcheck: { test: "nc -z localhost 1883", interval: 5s }
config:
  MAX_CONNECTIONS: { type: number, default: 100, description: connections accepted }
  SITE: { type: string, required: true }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

function post(path: string, body: string, contentType = 'application/yaml'): Promise<Response> {
  return h.api(path, { method: 'POST', body, headers: { 'content-type': contentType } });
}

describe('component library', () => {
  it('adds a component from YAML or JSON, answers a re-upload with 200 and other content with 409', async () => {
    const res = await post('/api/v1/components', mosquitto);
    expect(res.status).toBe(201);
    const view = (await res.json()) as ComponentView;
    expect(view).toMatchObject({
      name: 'mosquitto',
      version: '2.0.18',
      image: expect.stringContaining('@sha256:'),
      description: 'MQTT broker',
    });
    expect(view.config.MAX_CONNECTIONS).toEqual({ type: 'number', default: 100, description: 'connections accepted', required: false });
    expect((await post('/api/v1/components', mosquitto)).status).toBe(200);
    expect((await post('/api/v1/components', mosquitto.replace('info', 'debug'))).status).toBe(409);

    const json = await post(
      '/api/v1/components',
      JSON.stringify({ name: 'sensor', version: '1.0.0', image: `127.0.0.1:5000/sensor@${digest('e')}` }),
      'application/json',
    );
    expect(json.status).toBe(201);
    expect(((await (await h.api('/api/v1/components')).json()) as ComponentView[]).map((c) => c.name)).toEqual(['mosquitto', 'sensor']);
    expect((await h.api('/api/v1/components/mosquitto/2.0.18')).status).toBe(200);
    expect(await (await h.api('/api/v1/components/mosquitto/9.9.9')).json()).toMatchObject({ code: 'component_not_found' });
  });

  it('refuses an image not pinned by digest, with the path', async () => {
    const res = await post('/api/v1/components', 'name: bad\nversion: 1.0.0\nimage: busybox:latest\n');
    expect(res.status).toBe(400);
    expect(((await res.json()) as ApiError).issues?.map((i) => i.path)).toEqual(['image']);
  });
});

describe('releases from library references', () => {
  const assembly = (version: string, broker: string) => `
name: site
x-flotilla: { version: ${version} }
services:
  broker:
${broker}
  sensor:
    x-flotilla: { component: sensor@1.0.0 }
`;

  it('resolves references at publish: env merged, lists replaced, config defaults filled, volumes declared', async () => {
    const res = await post(
      '/api/v1/releases',
      assembly(
        '1.0.0',
        `    x-flotilla: { component: mosquitto@2.0.18 }
    environment: { LOG_LEVEL: debug, SITE: north }
    ports: ["8883:1883"]`,
      ),
    );
    expect(res.status).toBe(201);
    const release = (await res.json()) as ReleaseView;
    const broker = release.assembly.components.find((c) => c.name === 'broker')!;
    expect(broker.image).toBe(`127.0.0.1:5000/flotilla/mosquitto@${digest('d')}`);
    expect(broker.environment).toEqual({ LOG_LEVEL: 'debug', MAX_CONNECTIONS: '100', PERSIST: 'true', SITE: 'north' });
    expect(broker.ports).toEqual([{ container: 1883, host: 8883, protocol: 'tcp' }]);
    expect(broker.mounts).toEqual([{ type: 'volume', source: 'mqtt-data', target: '/mosquitto/data', readOnly: false }]);
    expect(broker.healthcheck).toMatchObject({ test: ['CMD-SHELL', 'nc -z localhost 1883'], intervalMs: 5000 });
    expect(release.assembly.volumes).toEqual(['mqtt-data']);
    expect(JSON.stringify(release.assembly)).not.toMatch(/x-flotilla|@2\.0\.18/);
  });

  it('refuses unknown components and bad configuration with the path of each problem', async () => {
    const res = await post(
      '/api/v1/releases',
      assembly(
        '2.0.0',
        `    x-flotilla: { component: mosquitto@2.0.18 }
    environment: { MAX_CONNECTIONS: lots }`,
      ).replace('sensor@1.0.0', 'sensor@7.0.0'),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as ApiError;
    expect(body.code).toBe('invalid_manifest');
    expect(body.issues?.map((i) => i.path).sort()).toEqual([
      'services.broker.environment.MAX_CONNECTIONS',
      'services.broker.environment.SITE',
      'services.sensor.x-flotilla.component',
    ]);
    expect(body.issues?.find((i) => i.path.endsWith('component'))?.message).toMatch(/unknown library component sensor@7.0.0/);
  });

  it('diffs two releases: components added, removed, changed with fields, and the images to fetch', async () => {
    const image = (c: string) => `127.0.0.1:5000/flotilla/busybox@${digest(c)}`;
    const a = (await (
      await post(
        '/api/v1/releases',
        `name: diffed\nx-flotilla: { version: 1.0.0 }\nservices:\n  web: { image: "${image('1')}" }\n  old: { image: "${image('2')}" }\n`,
      )
    ).json()) as ReleaseView;
    const b = (await (
      await post(
        '/api/v1/releases',
        `name: diffed\nx-flotilla: { version: 1.1.0 }\nservices:\n  web: { image: "${image('3')}", environment: { A: "1" } }\n  new: { image: "${image('4')}" }\n`,
      )
    ).json()) as ReleaseView;
    const diff = (await (await h.api(`/api/v1/releases/${a.id}/diff/${b.id}`)).json()) as ReleaseDiff;
    expect(diff).toEqual({
      from: { id: a.id, name: 'diffed', version: '1.0.0' },
      to: { id: b.id, name: 'diffed', version: '1.1.0' },
      components: { added: ['new'], removed: ['old'], changed: [{ name: 'web', fields: ['environment', 'image'] }], unchanged: [] },
      imagesToFetch: [image('3'), image('4')],
      assemblyFields: [],
    });
    expect((await h.api(`/api/v1/releases/${a.id}/diff/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });
});
