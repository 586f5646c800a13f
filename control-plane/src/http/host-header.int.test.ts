import { request } from 'node:http';
import type { ProvisioningTokenView, RegistryTokenAuthView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

/**
 * Without a configured public URL the control plane writes the Host of the request into the URLs
 * it hands out (provisioning files, registration answers, registry token realms). A Host that is
 * not a host name or address with a port (a path, user info, a fragment, a space) is refused
 * with a 400 before anything is written or consumed; a valid one is written lower-cased.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

/** Whichever answer the route gives: a view, or an error's code. */
type Answer = Record<string, unknown> & { code?: string };

/** fetch cannot send a Host of its own: node:http can. */
function send(method: string, path: string, host: string, body?: unknown, auth = true): Promise<{ status: number; body: Answer }> {
  const url = new URL(path, h.cp.httpUrl);
  const headers: Record<string, string> = { host, 'content-type': 'application/json' };
  if (auth) headers.authorization = `Bearer ${h.cp.apiKey}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, body: (text ? JSON.parse(text) : {}) as Answer });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const FORGED = ['cp.example@evil.example', 'evil.example/cp', 'evil.example#cp.example', 'cp.example #', 'cp.example:99999', 'a b'];

describe('the Host header in URLs the control plane hands out', () => {
  it.each(FORGED)('refuses a provisioning token asked for with Host %j', async (host) => {
    const res = await send('POST', '/api/v1/provisioning-tokens', host, {});
    expect([res.status, res.body.code]).toEqual([400, 'invalid_host_header']);
  });

  it('writes a valid Host lower-cased into the provisioning file', async () => {
    const res = await send('POST', '/api/v1/provisioning-tokens', 'CP.Example:8080', {});
    expect(res.status).toBe(201);
    const file = (res.body as unknown as ProvisioningTokenView).provisioning;
    expect(file.apiUrl).toBe('http://cp.example:8080');
    expect(file.mqttUrl).toBe(`mqtt://cp.example:${new URL(h.cp.mqttUrl).port}`);
  });

  it('refuses a registration with a forged Host before the token is used', async () => {
    const token = (await send('POST', '/api/v1/provisioning-tokens', '127.0.0.1', { maxUses: 1 })).body as unknown as ProvisioningTokenView;
    const forged = await send('POST', '/api/v1/devices/register', 'evil.example/x', { token: token.token }, false);
    expect([forged.status, forged.body.code]).toEqual([400, 'invalid_host_header']);
    const registered = await send('POST', '/api/v1/devices/register', '127.0.0.1', { token: token.token }, false);
    expect(registered.status).toBe(201);
    expect(registered.body.mqttUrl).toBe(h.cp.mqttUrl);
  });

  it('refuses a forged Host in a registry token realm, and writes a valid one lower-cased', async () => {
    const path = '/api/v1/registries/registry.example.com/token-auth';
    for (const host of FORGED) {
      const res = await send('PUT', path, host, {});
      expect([host, res.status, res.body.code]).toEqual([host, 400, 'invalid_host_header']);
    }
    expect((await send('GET', '/api/v1/registries/token-auth', 'evil.example/x')).status).toBe(400);
    const set = await send('PUT', path, 'CP.Example', {});
    expect(set.status).toBe(200);
    expect((set.body as unknown as RegistryTokenAuthView).registryConfig).toContain('    realm: http://cp.example/');
  });
});
