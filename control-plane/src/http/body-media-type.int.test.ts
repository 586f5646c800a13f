import { request } from 'node:http';
import { ModulesContainer } from '@nestjs/core';
import type { ApiError, FleetHostPolicyView, ProvisioningTokenView } from '@flotilla/shared';
import { registeredRoutes } from '../openapi/registered-routes';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
let fleetId: string;
beforeAll(async () => {
  h = await startHarness();
  fleetId = ((await (await h.api('/api/v1/fleets', { method: 'POST', body: '{"name":"media"}' })).json()) as { id: string }).id;
});
afterAll(() => h?.close());

const POLICY = { bindMounts: ['/data'], devices: ['/dev/i2c-1'], capabilities: ['NET_ADMIN'] };

async function unsupported(res: Response): Promise<void> {
  const body = (await res.json()) as ApiError;
  expect([res.status, body.statusCode, body.code]).toEqual([415, 415, 'unsupported_media_type']);
  expect(body.message).toContain('application/json');
}

describe('a body in a media type no parser reads', () => {
  it('is answered 415 and changes nothing, instead of being taken for {} and written with defaults', async () => {
    const policyPath = `/api/v1/fleets/${fleetId}/host-policy`;
    expect((await h.api(policyPath, { method: 'PUT', body: JSON.stringify(POLICY) })).status).toBe(200);
    const patch = { method: 'PUT', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify(POLICY) };
    await unsupported(await h.api(policyPath, patch));
    const after = (await (await h.api(policyPath)).json()) as FleetHostPolicyView;
    expect(after.policy).toEqual(POLICY);

    const token = await h.api('/api/v1/provisioning-tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: '{"expiresInSeconds":60}',
    });
    await unsupported(token);
  });

  it('is answered 415 on every route, a body without a Content-Type and a chunked one too', async () => {
    const routes = registeredRoutes(h.cp.app.get(ModulesContainer)).filter((r) => r.method !== 'get');
    for (const r of routes) {
      const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '00000000-0000-4000-8000-000000000000');
      const res = await h.api(path, {
        method: r.method.toUpperCase(),
        headers: { 'content-type': 'application/octet-stream' },
        body: '{}',
      });
      expect([r.method, r.path, res.status]).toEqual([r.method, r.path, 415]);
      await res.body?.cancel();
    }
    // fetch would label a string text/plain; node's http sends what it is told.
    const unlabelled = await rawPost('/api/v1/provisioning-tokens', '{"expiresInSeconds":60}', { 'content-length': '23' });
    expect([unlabelled.status, unlabelled.body.code]).toEqual([415, 'unsupported_media_type']);
    const chunked = await rawPost('/api/v1/provisioning-tokens', 'a=1', {
      'content-type': 'application/x-www-form-urlencoded',
      'transfer-encoding': 'chunked',
    });
    expect([chunked.status, chunked.body.code]).toEqual([415, 'unsupported_media_type']);
  });

  it('still lets a request without a body, or with an empty one, take the defaults', async () => {
    const empty = await rawPost('/api/v1/provisioning-tokens', '', { 'content-length': '0' });
    expect(empty.status).toBe(201);
    const json = await h.api('/api/v1/provisioning-tokens', { method: 'POST', body: '{"expiresInSeconds":60}' });
    const token = (await json.json()) as ProvisioningTokenView;
    expect(Date.parse(token.expiresAt) - Date.now()).toBeLessThan(120_000);
  });

  it('is documented: every route that takes a body lists 415', async () => {
    const doc = (await (await h.api('/api/v1/openapi.json', { auth: false })).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    };
    const withBody = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody)
        .map(([m, op]) => [m, p, '415' in op.responses]),
    );
    expect(withBody.length).toBeGreaterThan(20);
    for (const [m, p, has] of withBody) expect([m, p, has]).toEqual([m, p, true]);
  });
});

/** A POST through node's http client: no Content-Type unless given, chunked unless a length is. */
function rawPost(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: ApiError }> {
  const url = new URL(path, h.cp.httpUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${h.cp.apiKey}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) as ApiError }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
