import type { ApiError, ReleaseView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

/** `Idempotency-Key` on `POST /api/v1/releases`, against a real control plane and PostgreSQL. */
const manifest = (version: string, name = 'idem') => `
name: ${name}
x-flotilla: { version: ${version} }
services:
  web: { image: "127.0.0.1:5000/flotilla/busybox@sha256:${'c'.repeat(64)}" }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

function upload(body: string, key?: string): Promise<Response> {
  return h.api('/api/v1/releases', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/yaml', ...(key !== undefined ? { 'idempotency-key': key } : {}) },
  });
}

async function count(name: string): Promise<number> {
  const [row] = await h.db.query<{ n: string }>('SELECT count(*) AS n FROM releases WHERE name = $1', [name]);
  return Number(row!.n);
}

describe('POST /api/v1/releases with Idempotency-Key', () => {
  it('answers a retry with the release the first request created: 201, then 200 with the same release', async () => {
    const first = await upload(manifest('1.0.0'), 'ci-build-41');
    expect(first.status).toBe(201);
    const created = (await first.json()) as ReleaseView;
    const again = await upload(manifest('1.0.0'), 'ci-build-41');
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(created);
    expect(await count('idem')).toBe(1);
  });

  it('refuses the key for a different body with 409 idempotency_key_reused, and creates nothing', async () => {
    expect((await upload(manifest('2.0.0'), 'ci-build-42')).status).toBe(201);
    const reused = await upload(manifest('3.0.0'), 'ci-build-42');
    expect(reused.status).toBe(409);
    const body = (await reused.json()) as ApiError;
    expect(body).toMatchObject({ statusCode: 409, code: 'idempotency_key_reused' });
    expect(body.message).toContain('ci-build-42');
    expect((await h.db.query("SELECT 1 FROM releases WHERE name = 'idem' AND version = '3.0.0'")).length).toBe(0);
  });

  it('binds a key used to re-upload an already published release to that release', async () => {
    const plain = await upload(manifest('4.0.0'));
    expect(plain.status).toBe(201);
    const id = ((await plain.json()) as ReleaseView).id;
    const keyed = await upload(manifest('4.0.0'), 'ci-build-43');
    expect(keyed.status).toBe(200);
    expect(((await keyed.json()) as ReleaseView).id).toBe(id);
    // The key now belongs to 4.0.0: another release under it is refused.
    expect((await upload(manifest('5.0.0'), 'ci-build-43')).status).toBe(409);
  });

  it('creates one release for concurrent duplicates, and refuses concurrent different bodies under one key', async () => {
    const same = await Promise.all(Array.from({ length: 8 }, () => upload(manifest('1.0.0', 'race'), 'race-1')));
    expect(same.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = await Promise.all(same.map(async (r) => ((await r.json()) as ReleaseView).id));
    expect(new Set(ids).size).toBe(1);
    expect(await count('race')).toBe(1);

    const different = await Promise.all(Array.from({ length: 6 }, (_, i) => upload(manifest(`9.${i}.0`, 'race2'), 'race-2')));
    const statuses = different.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await count('race2')).toBe(1);
  });

  it('refuses a malformed key with 400 invalid_idempotency_key; without a key nothing changes', async () => {
    const bad = await upload(manifest('6.0.0'), 'spaces are not allowed');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_idempotency_key', issues: [{ path: 'Idempotency-Key' }] });
    expect((await upload(manifest('6.0.0'))).status).toBe(201);
    expect((await upload(manifest('6.0.0'))).status).toBe(200);
  });
});
