import { ApiRequestError, createApiClient, queryString } from './http-client';

/** A fetch that records the request and answers what the test says. */
function fakeFetch(status: number, body: string, contentType = 'application/json') {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return new Response(body, { status, headers: { 'content-type': contentType } });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('the typed API client', () => {
  it('fills path parameters, the query and the key, and answers the parsed body', async () => {
    const f = fakeFetch(200, '{"items":[],"nextCursor":null}');
    const api = createApiClient({ baseUrl: 'http://cp', key: () => 'fok_k', fetch: f.fetch });
    const page = await api.call('GET /api/v1/rollouts/:id/devices', {
      params: { id: 'a b' },
      query: { state: 'failed', limit: 50, cursor: undefined },
    });
    expect(page.nextCursor).toBeNull();
    expect(f.calls[0]!.url).toBe('http://cp/api/v1/rollouts/a%20b/devices?state=failed&limit=50');
    expect(f.calls[0]!.init).toMatchObject({ method: 'GET', headers: { authorization: 'Bearer fok_k' } });
  });

  it('sends JSON bodies as JSON and text bodies as YAML', async () => {
    const f = fakeFetch(201, '{}');
    const api = createApiClient({ fetch: f.fetch });
    await api.call('POST /api/v1/fleets', { body: { name: 'kitchen' } });
    await api.call('POST /api/v1/releases', { body: 'name: origin\n' });
    expect(f.calls.map((c) => [(c.init.headers as Record<string, string>)['content-type'], c.init.body])).toEqual([
      ['application/json', '{"name":"kitchen"}'],
      ['application/yaml', 'name: origin\n'],
    ]);
    expect((f.calls[0]!.init.headers as Record<string, string>).authorization).toBeUndefined();
  });

  it('answers text for routes that answer text', async () => {
    const api = createApiClient({ fetch: fakeFetch(200, 'flotilla_devices_online 3\n', 'text/plain').fetch });
    const text: string = await api.call('GET /metrics');
    expect(text).toBe('flotilla_devices_online 3\n');
  });

  it("throws the API's error with its status, code and route", async () => {
    const api = createApiClient({ fetch: fakeFetch(409, '{"statusCode":409,"code":"device_offline","message":"offline"}').fetch });
    const failure = api.call('POST /api/v1/devices/:id/commands', { params: { id: 'd1' }, body: { name: 'reboot' } });
    await expect(failure).rejects.toBeInstanceOf(ApiRequestError);
    await expect(failure).rejects.toMatchObject({
      status: 409,
      body: { code: 'device_offline' },
      route: 'POST /api/v1/devices/:id/commands',
    });
  });

  it('is typed from the route declarations', () => {
    const api = createApiClient({ fetch: fakeFetch(200, '{}').fetch });
    // Type checks only (npm run typecheck); the calls are never awaited.
    const typed = () => {
      // @ts-expect-error a path parameter is required
      void api.call('GET /api/v1/devices/:id');
      // @ts-expect-error the body of a rollout is its CreateRolloutRequest
      void api.call('POST /api/v1/rollouts', { body: { releaseId: 3 } });
      // @ts-expect-error no such route
      void api.call('GET /api/v1/nothing');
    };
    expect(typeof typed).toBe('function');
  });

  it('leaves unset query values out', () => {
    expect(queryString({ a: 1, b: undefined, c: null, d: '', e: ['x', 'y'] })).toBe('?a=1&e=x&e=y');
    expect(queryString(undefined)).toBe('');
  });
});
