import type { ApiError, DeviceView, FleetView, Page, ReleaseView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

/**
 * `GET /api/v1/devices` against a real PostgreSQL holding a few thousand devices, inserted
 * with SQL. Creation times repeat and differ only in microseconds on purpose: the keyset
 * must neither skip nor repeat devices that JavaScript's millisecond Date cannot tell apart.
 */
const COUNT = 3000;

interface Seeded {
  id: string;
  name: string;
  fleet: number | null;
  tags: string[];
  online: boolean;
  pinned: boolean;
  desired: boolean;
  phase: string | null;
  decommissioned: boolean;
}

const seeded: Seeded[] = Array.from({ length: COUNT }, (_, i) => ({
  id: `dev_list${String(i).padStart(5, '0')}`,
  name: i % 10 === 0 ? `Kiosk-${i}` : `sensor-${i}`,
  fleet: i % 3 === 0 ? null : i % 3,
  tags: [...(i % 2 === 0 ? ['even'] : []), ...(i % 5 === 0 ? ['lab'] : [])],
  online: i % 4 === 0,
  pinned: i % 7 === 0,
  desired: i % 11 === 0,
  phase: i % 13 === 0 ? 'fetch' : i % 13 === 1 ? 'idle' : null,
  decommissioned: i % 97 === 0,
}));

let h: Harness;
let fleets: FleetView[];
let release: ReleaseView;

beforeAll(async () => {
  h = await startHarness();
  fleets = [await post<FleetView>('/api/v1/fleets', { name: 'list-a' }), await post<FleetView>('/api/v1/fleets', { name: 'list-b' })];
  const manifest = `name: list-app\nx-flotilla: { version: 1.0.0 }\nservices:\n  web: { image: "127.0.0.1:5000/flotilla/busybox@sha256:${'e'.repeat(64)}" }\n`;
  const res = await h.api('/api/v1/releases', { method: 'POST', body: manifest, headers: { 'content-type': 'application/yaml' } });
  release = (await res.json()) as ReleaseView;
  // Inserted in shuffled order, with 7 devices per microsecond and 3 microseconds per millisecond.
  const rows = [...seeded].sort((a, b) => (a.id.split('').reverse().join('') < b.id.split('').reverse().join('') ? -1 : 1));
  await h.db.query(
    `INSERT INTO devices (id, name, password_hash, fleet_id, tags, online, pinned_release_id, desired_release_id, desired_rev, reported,
                          decommissioned_at, created_at)
     SELECT r.id, r.name, 'x', r.fleet_id::uuid, r.tags, r.online, r.pinned::uuid, r.desired::uuid, 1,
            CASE WHEN r.phase IS NULL THEN NULL ELSE jsonb_build_object('update', jsonb_build_object('phase', r.phase)) END,
            CASE WHEN r.decommissioned THEN now() END,
            timestamptz '2026-01-01 00:00:00+00' + (r.n / 7 / 3) * interval '1 millisecond' + ((r.n / 7) % 3) * interval '1 microsecond'
       FROM jsonb_to_recordset($1::jsonb) AS r(id text, name text, fleet_id text, tags text[], online boolean, pinned text, desired text,
                                               phase text, decommissioned boolean, n int)`,
    [
      JSON.stringify(
        rows.map((d) => ({
          id: d.id,
          name: d.name,
          fleet_id: d.fleet === null ? null : fleets[d.fleet - 1]!.id,
          tags: d.tags,
          online: d.online,
          pinned: d.pinned ? release.id : null,
          desired: d.desired ? release.id : null,
          phase: d.phase,
          decommissioned: d.decommissioned,
          n: Number(d.id.slice(-5)),
        })),
      ),
    ],
  );
}, 60_000);
afterAll(() => h?.close());

async function post<T>(path: string, body: unknown): Promise<T> {
  const res = await h.api(path, { method: 'POST', body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function page(query: string): Promise<Page<DeviceView>> {
  const res = await h.api(`/api/v1/devices?${query}`);
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Page<DeviceView>;
}

/** Follows `nextCursor` to the end; the ids in the order the pages gave them. */
async function all(query: string, limit: number, from: string | null = null): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor = from;
  let pages = 0;
  do {
    const p = await page(`${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(p.items.length).toBeLessThanOrEqual(limit);
    ids.push(...p.items.map((d) => d.id));
    cursor = p.nextCursor;
    pages++;
  } while (cursor);
  return { ids, pages };
}

/** What the list should hold, oldest first (creation order is the seeded index order). */
const expected = (keep: (d: Seeded) => boolean) => seeded.filter(keep).map((d) => d.id);

describe('GET /api/v1/devices', () => {
  it('pages through every device exactly once, oldest first, 100 per page by default', async () => {
    const first = await page('');
    expect(first.items).toHaveLength(100);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(first.items[0]).toMatchObject({ id: 'dev_list00000', name: 'Kiosk-0', tags: ['even', 'lab'] });

    const { ids, pages } = await all('', 250);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expected(() => true));
    // The last page is full and says so: no empty page after it.
    expect(pages).toBe(COUNT / 250);

    const big = await all('', 1000);
    expect(big.ids).toEqual(ids);
  });

  it('filters by fleet, tag, status, search, pinned and desired release and update phase, and combines them', async () => {
    const [a, b] = fleets;
    const cases: [string, (d: Seeded) => boolean][] = [
      [`fleetId=${a!.id}`, (d) => d.fleet === 1],
      ['tag=lab', (d) => d.tags.includes('lab')],
      ['online=true', (d) => d.online],
      ['online=false&decommissioned=false', (d) => !d.online && !d.decommissioned],
      ['decommissioned=true', (d) => d.decommissioned],
      ['search=kiosk-1', (d) => d.name.toLowerCase().startsWith('kiosk-1')],
      ['search=dev_list0002', (d) => d.id.startsWith('dev_list0002')],
      ['search=%25', () => false],
      ['search=dev_list_', () => false],
      [`pinnedReleaseId=${release.id}`, (d) => d.pinned],
      [`releaseId=${release.id}`, (d) => d.desired],
      ['updatePhase=fetch', (d) => d.phase === 'fetch'],
      [
        `fleetId=${b!.id}&tag=even&online=true&pinnedReleaseId=${release.id}`,
        (d) => d.fleet === 2 && d.tags.includes('even') && d.online && d.pinned,
      ],
      ['search=Kiosk&tag=lab&updatePhase=idle', (d) => d.name.startsWith('Kiosk') && d.tags.includes('lab') && d.phase === 'idle'],
    ];
    for (const [query, keep] of cases) {
      const want = expected(keep);
      const got = await all(query, 200);
      expect({ query, ids: got.ids }).toEqual({ query, ids: want });
    }
    // The combined filter is not empty, so it proves something.
    expect(expected((d) => d.fleet === 2 && d.tags.includes('even') && d.online && d.pinned).length).toBeGreaterThan(5);
  });

  it('refuses a bad limit, filter or cursor with a 400 in the API error shape', async () => {
    const bad = async (query: string): Promise<ApiError> => {
      const res = await h.api(`/api/v1/devices?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      return (await res.json()) as ApiError;
    };
    expect(await bad('limit=0')).toMatchObject({ statusCode: 400, code: 'invalid_query', issues: [{ path: 'limit' }] });
    expect(await bad('limit=1001')).toMatchObject({ code: 'invalid_query', issues: [{ path: 'limit' }] });
    expect(await bad('limit=ten')).toMatchObject({ code: 'invalid_query' });
    expect(await bad('updatePhase=dancing')).toMatchObject({ code: 'invalid_query', issues: [{ path: 'updatePhase' }] });
    expect(await bad('fleetId=nope')).toMatchObject({ code: 'invalid_query', issues: [{ path: 'fleetId' }] });
    expect(await bad('cursor=garbage')).toMatchObject({ statusCode: 400, code: 'invalid_cursor', issues: [{ path: 'cursor' }] });
    // Well-formed JSON, but not a position this list hands out (it would reach SQL as a bad timestamp).
    const forged = Buffer.from(JSON.stringify(['yesterday', 'dev_x'])).toString('base64url');
    expect(await bad(`cursor=${forged}`)).toMatchObject({ code: 'invalid_cursor' });
    expect((await page('limit=1000')).items).toHaveLength(1000);
  });

  it('reads a page from the index: no sort of the whole table', async () => {
    await h.db.query('ANALYZE devices');
    const plan = await h.db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT d.id FROM devices d WHERE (d.created_at, d.id) > ($1::timestamptz, $2) ORDER BY d.created_at, d.id LIMIT 101`,
      ['2026-01-01T00:00:00.050000Z', 'dev_list00000'],
    );
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('devices_created_id_idx');
  });

  it('a device registered while paging appears once, on a later page', async () => {
    const p1 = await page('limit=500');
    const device = await h.registerDevice('late-joiner');
    const rest = await all('', 1000, p1.nextCursor);
    const ids = [...p1.items.map((d) => d.id), ...rest.ids];
    expect(ids.filter((id) => id === device.deviceId)).toHaveLength(1);
    expect(ids.slice(0, COUNT)).toEqual(expected(() => true));
  });
});
