import { API_ROUTES, type ApiError, type DeviceView, type Page } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const ids: Record<string, string> = { id: 'dev-0', digest: `sha256:${'0'.repeat(64)}` };
const concrete = (path: string, uuidParams: boolean) =>
  path.replace(/:([A-Za-z0-9_]+)/g, (_, p: string) => (uuidParams ? '00000000-0000-4000-8000-000000000000' : (ids[p] ?? p)));

describe('query parameters a route does not take', () => {
  it('are a 400 naming them, not ignored: a misspelt filter no longer lists every device', async () => {
    const fleet = (await (await h.api('/api/v1/fleets', { method: 'POST', body: '{"name":"strict"}' })).json()) as { id: string };
    await h.registerDevice('outside');
    const filtered = (await (await h.api(`/api/v1/devices?fleetId=${fleet.id}`)).json()) as Page<DeviceView>;
    expect(filtered.items).toEqual([]);
    const typo = await h.api(`/api/v1/devices?fleetid=${fleet.id}`);
    const body = (await typo.json()) as ApiError;
    expect([typo.status, body.code, body.issues?.map((i) => i.path)]).toEqual([400, 'invalid_query', ['fleetid']]);
    expect(body.issues![0]!.message).toMatch(/unknown query parameter; it takes .*fleetId/);
  });

  it('are a 400 on every route that declares a query, alongside its own filters and paging', async () => {
    const withQuery = API_ROUTES.filter((r) => r.query);
    expect(withQuery.length).toBeGreaterThanOrEqual(8);
    for (const r of withQuery) {
      const path = concrete(r.path, r.path.startsWith('/api/v1/rollouts'));
      const res = await h.api(`${path}?limit=5&bogus=1`, { method: r.method.toUpperCase() });
      const body = (await res.json()) as ApiError;
      expect([r.path, res.status, body.code, body.issues?.map((i) => i.path)]).toEqual([r.path, 400, 'invalid_query', ['bogus']]);
      // Both halves of a merged query still work together.
      const ok = await h.api(`${path}?limit=5`, { method: r.method.toUpperCase() });
      expect([r.path, ok.status === 400]).toEqual([r.path, false]);
      await ok.body?.cancel();
    }
  });
});
