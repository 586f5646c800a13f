import type { CreatedOperatorKey } from '@flotilla/shared';
import { startHarness, type Harness } from '../../testing/harness';

/** Integration (control plane over HTTP, real PostgreSQL): who gets which token from the realm; a real registry's verdict is in the e2e. */
const HOST = '127.0.0.1:5998';
let h: Harness;
let keys: { viewer: string; operator: string };

beforeAll(async () => {
  h = await startHarness();
  const key = async (role: string) =>
    (
      (await (
        await h.api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: role, role }) })
      ).json()) as CreatedOperatorKey
    ).key;
  keys = { viewer: await key('viewer'), operator: await key('operator') };
  expect((await h.api(`/api/v1/registries/${HOST}/token-auth`, { method: 'PUT', body: JSON.stringify({ ttlSeconds: 300 }) })).status).toBe(
    200,
  );
});
afterAll(() => h?.close());

const basic = (key: string) => `Basic ${Buffer.from(`anyone:${key}`).toString('base64')}`;
async function ask(
  authorization: string | undefined,
  query: string,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const res = await h.api(`/api/v1/registry-token?${query}`, { auth: false, headers: authorization ? { authorization } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, challenge: res.headers.get('www-authenticate') };
}
const accessOf = (token: unknown) =>
  (JSON.parse(Buffer.from(String(token).split('.')[1]!, 'base64url').toString()) as { access: unknown }).access;
const scope = `service=${encodeURIComponent(HOST)}&scope=${encodeURIComponent('repository:team/web:pull,push')}`;

it('answers docker login and pulls with the role’s share: operators push, viewers only pull', async () => {
  const operator = await ask(basic(keys.operator), scope);
  expect(operator.status).toBe(200);
  expect(operator.body).toMatchObject({ expires_in: 300, access_token: operator.body.token });
  expect(accessOf(operator.body.token)).toEqual([{ type: 'repository', name: 'team/web', actions: ['pull', 'push'] }]);
  const viewer = await ask(`Bearer ${keys.viewer}`, scope);
  expect(accessOf(viewer.body.token)).toEqual([{ type: 'repository', name: 'team/web', actions: ['pull'] }]);
  // `docker login` asks without a scope: a token for nothing, which proves the key.
  expect(accessOf((await ask(basic(keys.viewer), `service=${encodeURIComponent(HOST)}`)).body.token)).toEqual([]);
});

it('refuses a missing or unknown key with a Basic challenge, and a service it issues no tokens for', async () => {
  for (const authorization of [undefined, basic('fok_not-a-key'), 'Basic bm9jb2xvbg==']) {
    const refused = await ask(authorization, scope);
    expect([refused.status, refused.challenge]).toEqual([401, 'Basic realm="flotilla"']);
    expect(refused.body).not.toHaveProperty('token');
  }
  const unknown = await ask(basic(keys.operator), 'service=elsewhere');
  expect(unknown).toMatchObject({ status: 404, body: { code: 'registry_service_unknown' } });
});
