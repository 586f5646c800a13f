import { ModulesContainer } from '@nestjs/core';
import { registeredRoutes, type RegisteredRoute } from '../openapi/registered-routes';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(120_000);

let h: Harness;
let routes: RegisteredRoute[];
beforeAll(async () => {
  h = await startHarness();
  routes = registeredRoutes(h.cp.app.get(ModulesContainer)).filter((r) => r.method !== 'get' && r.method !== 'delete');
});
afterAll(() => h?.close());

/** 60 KB of JSON nested 30,000 deep: a quadratic walk of it blocked the process for a minute. */
const DEPTH = 30_000;
const deepList = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
/** Inside the JSON limit too: 95 KB. */
const deepObject = '{"":'.repeat(DEPTH * 0.6) + '1' + '}'.repeat(DEPTH * 0.6);

/** Wall time of `work`, and of a /healthz asked while it runs (the control plane shares this event loop). */
async function timed(work: () => Promise<Response>): Promise<{ status: number; ms: number; healthMs: number }> {
  const start = performance.now();
  const answer = work();
  const health = h.api('/healthz', { auth: false }).then(async (r) => {
    await r.text();
    return performance.now() - start;
  });
  const res = await answer;
  await res.text();
  return { status: res.status, ms: performance.now() - start, healthMs: await health };
}

describe('a small, deeply nested JSON body', () => {
  it('is answered at once on the public registration, and /healthz meanwhile too', async () => {
    for (const body of [deepList, deepObject]) {
      const t = await timed(() => h.api('/api/v1/devices/register', { method: 'POST', auth: false, body }));
      expect(t.status).toBe(400);
      // Linear work is a few milliseconds; the quadratic walk took 62 s at this depth.
      expect(t.ms).toBeLessThan(1_000);
      expect(t.healthMs).toBeLessThan(1_000);
    }
  });

  it('is answered without a 5xx and at once on every route that takes a body, in a field the schema leaves open too', async () => {
    const fleet = (await (await h.api('/api/v1/fleets', { method: 'POST', body: '{"name":"deep"}' })).json()) as { id: string };
    const cases: [string, string, string][] = routes.map((r) => [
      r.method.toUpperCase(),
      r.path.replace(/:([A-Za-z0-9_]+)/g, '00000000-0000-4000-8000-000000000000'),
      deepList,
    ]);
    // A fleet's config is free-form JSON that reaches jsonb.
    cases.push(['PUT', `/api/v1/fleets/${fleet.id}/config`, `{"config":{"x":${deepObject}}}`]);
    for (const [method, path, body] of cases) {
      const t = await timed(() => h.api(path, { method, body }));
      expect([method, path, t.status < 500, t.ms < 1_000]).toEqual([method, path, true, true]);
    }
  });
});
