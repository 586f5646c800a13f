import { UNSTORABLE_TEXT_MESSAGE, type ApiError, type PathParameterKind } from '@flotilla/shared';
import { ModulesContainer } from '@nestjs/core';
import { registeredRoutes, type RegisteredRoute } from '../openapi/registered-routes';
import { startHarness, type Harness } from '../testing/harness';
import { encodeCursor } from './cursor';
import { SECURITY_HEADERS } from './security-headers';

jest.setTimeout(60_000);

let h: Harness;
let routes: RegisteredRoute[];
beforeAll(async () => {
  h = await startHarness();
  routes = registeredRoutes(h.cp.app.get(ModulesContainer));
});
afterAll(() => h?.close());

/** A well-formed value of each kind, for the parameters a case leaves alone. */
const WELL_FORMED: Record<PathParameterKind, string> = {
  uuid: '00000000-0000-4000-8000-000000000000',
  deviceId: 'dev-0',
  componentName: 'web',
  version: '1.0.0',
  registryHost: 'registry.example.com',
  signingKeyId: 'ed25519:0123456789abcdef',
  sha256Digest: `sha256:${'0'.repeat(64)}`,
};

/** Malformed for every kind: a space and "!" fit none of them. */
const MALFORMED = 'not%20valid!';

function concrete(r: RegisteredRoute, override: Record<string, string> = {}): string {
  return r.path.replace(/:([A-Za-z0-9_]+)/g, (_, p: string) => override[p] ?? WELL_FORMED[r.params[p]!]);
}

const hasBody = (r: RegisteredRoute) => r.method !== 'get' && r.method !== 'delete';

async function call(r: RegisteredRoute, url: string): Promise<{ status: number; body: ApiError; headers: Headers }> {
  const res = await h.api(url, { method: r.method.toUpperCase(), ...(hasBody(r) ? { body: '{}' } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as ApiError,
    headers: res.headers,
  };
}

function expectSecurityHeaders(where: string, headers: Headers): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect([where, name, headers.get(name)]).toEqual([where, name, value]);
  expect([where, headers.get('x-powered-by')]).toEqual([where, null]);
}

describe('malformed input on every route', () => {
  it('has routes to walk (sanity)', () => {
    expect(routes.filter((r) => Object.keys(r.params).length > 0).length).toBeGreaterThan(25);
  });

  it('answers a malformed path parameter with 400 naming it, on every route and for each parameter', async () => {
    for (const r of routes) {
      for (const p of Object.keys(r.params)) {
        const { status, body, headers } = await call(r, concrete(r, { [p]: MALFORMED }));
        // Nest may check the (empty) body first; that every parameter is checked at all is the route table's test.
        const answer = body.code === 'invalid_request' && hasBody(r) ? 'the body' : [body.code, body.issues?.[0]?.path];
        expect([r.method, r.path, p, status, answer]).toEqual([
          r.method,
          r.path,
          p,
          400,
          hasBody(r) ? answer : ['invalid_path_parameter', p],
        ]);
        if (!hasBody(r)) expect(answer).toEqual(['invalid_path_parameter', p]);
        expectSecurityHeaders(`${r.method} ${r.path}`, headers);
      }
    }
  });

  it('answers bad percent-encoding and control characters with 400, in the path and in the query, on every route', async () => {
    for (const r of routes) {
      const urls = [`${concrete(r)}?q=%E0%A4%A`, `${concrete(r)}?%00=1`];
      const first = Object.keys(r.params)[0];
      if (first) urls.push(concrete(r, { [first]: '%E0%A4%A' }), concrete(r, { [first]: 'a%00b' }));
      for (const url of urls) {
        const { status, body, headers } = await call(r, url);
        expect([r.method, url, status, body.code]).toEqual([r.method, url, 400, 'malformed_url']);
        expectSecurityHeaders(`${r.method} ${url}`, headers);
      }
    }
  });

  it('answers forged cursors on every paged list with 400, never a database error', async () => {
    const forged = [
      'not-a-cursor',
      encodeCursor(['2026-01-01T00:00:00Z', 'x y']),
      encodeCursor(['a b c']),
      encodeCursor([1, 2]),
      encodeCursor(['1.5']),
      encodeCursor(['1', 'dev 0']),
    ];
    // Every list that takes a cursor (the dashboard's device list pages by offset).
    const lists = ['/api/v1/audit', '/api/v1/devices', '/api/v1/releases', '/api/v1/rollouts', '/api/v1/rollouts/:id/devices'];
    const paged = routes.filter((r) => r.method === 'get' && lists.includes(r.path));
    expect(paged).toHaveLength(lists.length);
    for (const r of paged) {
      for (const cursor of forged) {
        const { status, body } = await call(r, `${concrete(r)}?cursor=${cursor}`);
        expect([r.path, cursor, status, body.code]).toEqual([r.path, cursor, 400, 'invalid_cursor']);
      }
    }
  });

  it('answers bad query values with 400 and odd but valid ones without a 5xx', async () => {
    const bad: [string, string][] = [
      ['/api/v1/releases', 'limit=abc'],
      ['/api/v1/releases', 'limit=1e999'],
      ['/api/v1/releases', 'limit=1&limit=2'],
      ['/api/v1/devices', 'fleetId=nope'],
      ['/api/v1/devices', 'online=maybe'],
      ['/api/v1/rollouts', 'status=dancing'],
      ['/api/v1/dashboard/devices', 'offset=-1'],
      ['/api/v1/dashboard/devices', 'sort=evil'],
      ['/api/v1/devices/dev-0/telemetry', 'from=yesterday'],
      ['/api/v1/devices/dev-0/telemetry', 'step=0'],
      ['/api/v1/dashboard/devices/dev-0/events', 'limit=100000'],
    ];
    for (const [path, query] of bad) {
      const res = await h.api(`${path}?${query}`);
      expect([path, query, res.status, ((await res.json()) as ApiError).code]).toEqual([path, query, 400, 'invalid_query']);
    }
    const odd: [string, string][] = [
      ['/api/v1/releases', 'name=%F0%9F%9A%80%27%3B--'],
      ['/api/v1/devices', `search=${'%25'.repeat(100)}`],
      ['/api/v1/dashboard/devices', 'q=%5C%25_'],
      ['/api/v1/audit', `actor=${'x'.repeat(2000)}`],
      ['/api/v1/devices/dev-0/telemetry', 'from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59%2B14:00&step=86400'],
      ['/api/v1/devices/dev-0/telemetry', 'from=0000-01-01T00:00:00Z'],
    ];
    for (const [path, query] of odd) {
      const res = await h.api(`${path}?${query}`);
      expect([path, query, res.status < 500]).toEqual([path, query, true]);
    }
  });

  it('answers NUL characters in a body with 400 where they would be stored, and with no 5xx on any route', async () => {
    const nul = JSON.stringify({ name: 'a\u0000b', 'k\u0000': 1, nested: { list: ['\u0000'] } });
    for (const r of routes.filter(hasBody)) {
      const res = await h.api(concrete(r), { method: r.method.toUpperCase(), body: nul });
      expect([r.method, r.path, res.status < 500]).toEqual([r.method, r.path, true]);
    }
    const fleet = await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'a\u0000b' }) });
    expect([fleet.status, ((await fleet.json()) as ApiError).issues]).toEqual([
      400,
      [{ path: 'name', message: expect.stringMatching(/NUL/) }],
    ]);
    const release = await h.api('/api/v1/releases', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: 'name: n\nx-flotilla: { version: 1.0.0 }\nservices:\n  web: { image: "web:1", environment: { A: "x\\0y" } }\n',
    });
    expect([release.status, ((await release.json()) as ApiError).issues]).toEqual([
      400,
      [{ path: 'services.web.environment.A', message: UNSTORABLE_TEXT_MESSAGE }],
    ]);
  });

  it('puts the security headers on the dashboard and on answers no route gave: 404, 413, 401', async () => {
    // The dashboard's page (200 when it is built, else a 404) carries them like any other answer.
    const page = await h.api('/devices/abc', { auth: false, headers: { accept: 'text/html' } });
    expectSecurityHeaders('dashboard', page.headers);
    const answers = [
      await h.api('/api/v1/no/such/route'),
      await h.api('/api/v1/releases', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: 'x'.repeat(300 * 1024) }),
      await h.api('/api/v1/releases', { auth: false }),
      await h.api('/healthz', { auth: false }),
    ];
    expect(answers.map((a) => a.status)).toEqual([404, 413, 401, 200]);
    for (const a of answers) expectSecurityHeaders(a.url, a.headers);
  });

  it('keeps every API answer out of the browser cache, and lets the dashboard state its own', async () => {
    const answers = [
      await h.api('/api/v1/devices'),
      await h.api('/api/v1/dashboard/overview'),
      await h.api('/api/v1/no/such/route'),
      await h.api('/api/v1/devices', { auth: false }),
    ];
    expect(answers.map((a) => [a.status, a.headers.get('cache-control')])).toEqual([
      [200, 'no-store'],
      [200, 'no-store'],
      [404, 'no-store'],
      [401, 'no-store'],
    ]);
    // The dashboard's page (built by `npm run build`, which the test command runs first).
    const page = await h.api('/devices/abc', { auth: false });
    expect([page.status, page.headers.get('cache-control')]).toEqual([200, 'no-cache']);
  });

  it('gives the API docs page its own policy: its inline script and style by hash, nothing else inline', async () => {
    const res = await h.api('/api/docs', { auth: false });
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
