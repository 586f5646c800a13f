import { ModulesContainer } from '@nestjs/core';
import { UNSTORABLE_TEXT_MESSAGE, type ApiError, type ProvisioningTokenView } from '@flotilla/shared';
import { registeredRoutes } from '../openapi/registered-routes';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

/** A lone high and a lone low surrogate, as JSON escapes: jsonb refuses them, text turns them into U+FFFD. */
const HIGH = '\\ud800';
const LOW = '\\udc00';

async function refusal(path: string, method: string, body: string, contentType = 'application/json', auth = true) {
  const res = await h.api(path, { method, body, auth, headers: { 'content-type': contentType } });
  const answer = (await res.json()) as ApiError;
  return [res.status, answer.issues];
}

const naming = (path: string) => [400, [{ path, message: UNSTORABLE_TEXT_MESSAGE }]];

describe('unpaired UTF-16 surrogates in a body', () => {
  it('are refused with 400 naming the field, on routes that stored them in jsonb (a 500 before)', async () => {
    const fleet = (await (await h.api('/api/v1/fleets', { method: 'POST', body: '{"name":"surrogates"}' })).json()) as { id: string };
    const device = await h.registerDevice();
    expect(await refusal(`/api/v1/fleets/${fleet.id}/config`, 'PUT', `{"config":{"A":"x${HIGH}"}}`)).toEqual(naming('config.A'));
    expect(await refusal(`/api/v1/devices/${device.deviceId}/config`, 'PUT', `{"config":{"B":"${LOW}y"}}`)).toEqual(naming('config.B'));
    expect(await refusal('/api/v1/fleets', 'POST', `{"name":"f2","config":{"A":"${HIGH}"}}`)).toEqual(naming('config.A'));
    const manifest = `name: n\nx-flotilla: { version: 1.0.0 }\nservices:\n  web: { image: "web:1", environment: { A: "x${HIGH}" } }\n`;
    expect(await refusal('/api/v1/releases', 'POST', manifest, 'application/yaml')).toEqual(naming('services.web.environment.A'));
    const component = `{"name":"web","version":"1.0.0","image":"web:1","description":"${LOW}"}`;
    expect(await refusal('/api/v1/components', 'POST', component)).toEqual(naming('description'));
    expect(
      await refusal(
        '/api/v1/components',
        'POST',
        'name: web\nversion: 1.0.0\nimage: "web:1"\ndescription: "\\udfff"\n',
        'application/yaml',
      ),
    ).toEqual(naming('description'));
  });

  it('are refused with 400 naming the field where a text column would have stored U+FFFD instead', async () => {
    expect(await refusal('/api/v1/operators/keys', 'POST', `{"name":"k${HIGH}","role":"viewer"}`)).toEqual(naming('name'));
    const credentials = '/api/v1/registries/registry.example.com/credentials';
    expect(await refusal(credentials, 'PUT', `{"username":"u${HIGH}","password":"p"}`)).toEqual(naming('username'));
    expect(await refusal(credentials, 'PUT', `{"username":"u","password":"p${LOW}"}`)).toEqual(naming('password'));
    const tokenAuth = '/api/v1/registries/registry.example.com/token-auth';
    expect(await refusal(tokenAuth, 'PUT', `{"service":"s${HIGH}"}`)).toEqual(naming('service'));
    expect(await refusal('/api/v1/fleets', 'POST', `{"name":"boards","boards":["rpi${LOW}"]}`)).toEqual(naming('boards.0'));
    const from = `registry.example.com/a${HIGH}@sha256:${'0'.repeat(64)}`;
    const delta = `{"from":"${from}","to":"registry.example.com/b@sha256:${'1'.repeat(64)}","architecture":"arm64"}`;
    expect(await refusal('/api/v1/deltas', 'POST', delta)).toEqual(naming('from'));
    const token = (await (await h.api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' })).json()) as ProvisioningTokenView;
    expect(await refusal('/api/v1/devices/register', 'POST', `{"token":"${token.token}","name":"d${HIGH}"}`, undefined, false)).toEqual(
      naming('name'),
    );
    // Keys as well as values; a pair (an emoji) is fine.
    expect(await refusal('/api/v1/operators/keys', 'POST', `{"name":"k","role":"viewer","${LOW}":1}`)).toEqual(naming('\udc00'));
    const ok = await h.api('/api/v1/operators/keys', { method: 'POST', body: '{"name":"rocket \\ud83d\\ude80","role":"viewer"}' });
    expect(ok.status).toBe(201);
  });

  it('answer no 5xx on any route that takes a body', async () => {
    const routes = registeredRoutes(h.cp.app.get(ModulesContainer)).filter((r) => r.method !== 'get' && r.method !== 'delete');
    const body = `{"name":"a${HIGH}","${LOW}":1,"config":{"A":"${HIGH}"},"nested":{"list":["${LOW}"]}}`;
    for (const r of routes) {
      const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '00000000-0000-4000-8000-000000000000');
      const res = await h.api(path, { method: r.method.toUpperCase(), body });
      expect([r.method, r.path, res.status < 500]).toEqual([r.method, r.path, true]);
    }
  });
});
