import { contentDigest, parseAssemblyYaml, type ApiError, type Page, type ReleaseView } from '@flotilla/shared';
import { startHarness, type Harness } from '../testing/harness';

const image = `127.0.0.1:5000/flotilla/busybox@sha256:${'a'.repeat(64)}`;
const manifest = (version: string, command = 'httpd -f -p 8080') => `
name: origin
x-flotilla:
  version: ${version}
services:
  web:
    image: ${image}
    command: ${command}
    ports: ["8080:8080"]
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

function upload(body: string, contentType = 'application/yaml'): Promise<Response> {
  return h.api('/api/v1/releases', { method: 'POST', body, headers: { 'content-type': contentType } });
}

describe('releases', () => {
  it('publishes a YAML manifest as a release with its normalized assembly and digest', async () => {
    const res = await upload(manifest('1.0.0'));
    expect(res.status).toBe(201);
    const release = (await res.json()) as ReleaseView;
    const parsed = parseAssemblyYaml(manifest('1.0.0'));
    if (!parsed.ok) throw new Error('fixture must parse');
    expect(release).toMatchObject({
      id: expect.any(String),
      name: 'origin',
      version: '1.0.0',
      digest: contentDigest(parsed.spec),
      assembly: parsed.spec,
    });

    expect(await (await h.api(`/api/v1/releases/${release.id}`)).json()).toEqual(release);
    const list = (await (await h.api('/api/v1/releases')).json()) as Page<ReleaseView>;
    expect(list.items.map((r) => r.id)).toContain(release.id);
  });

  it('lists releases newest first in pages, and by name', async () => {
    for (const v of ['5.0.0', '5.0.1', '5.0.2']) expect((await upload(manifest(v))).status).toBe(201);
    const other = manifest('9.9.9').replace(/^name: .*$/m, 'name: paging-other');
    expect((await upload(other)).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await h.api(`/api/v1/releases?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const page = (await res.json()) as Page<ReleaseView>;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r) => `${r.name}@${r.version}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen[0]).toBe('paging-other@9.9.9');
    expect(seen.indexOf(`origin@5.0.2`)).toBeLessThan(seen.indexOf(`origin@5.0.1`));
    const named = (await (await h.api('/api/v1/releases?name=paging-other')).json()) as Page<ReleaseView>;
    expect(named.items.map((r) => r.version)).toEqual(['9.9.9']);
    const bad = await h.api('/api/v1/releases?cursor=bm90LWEtY3Vyc29y');
    expect([bad.status, ((await bad.json()) as { code: string }).code]).toEqual([400, 'invalid_cursor']);
  });

  it('accepts text/yaml and text/plain too', async () => {
    expect((await upload(manifest('1.1.0'), 'text/yaml')).status).toBe(201);
    expect((await upload(manifest('1.2.0'), 'text/plain; charset=utf-8')).status).toBe(201);
  });

  it('answers an identical re-upload with 200 and the existing release, even if formatted differently', async () => {
    const first = (await (await upload(manifest('2.0.0'))).json()) as ReleaseView;
    const again = await upload(`# re-uploaded by CI\n${manifest('2.0.0')}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
  });

  it('refuses other content under an existing name and version with 409', async () => {
    await upload(manifest('3.0.0'));
    const res = await upload(manifest('3.0.0', 'httpd -f -p 9090'));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ statusCode: 409, code: 'release_version_conflict' });
  });

  it('refuses a malformed manifest with 400 and the path of each problem', async () => {
    const res = await upload(`
name: origin
x-flotilla: { version: 4.0.0 }
services:
  web:
    image: ${image}
    ports: ["not-a-port"]
    depends_on: [db]
`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ApiError;
    expect(body).toMatchObject({ statusCode: 400, code: 'invalid_manifest' });
    expect(body.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(['services.web.ports.0']));

    const yaml = await upload('services: [unclosed');
    expect(yaml.status).toBe(400);
    expect(((await yaml.json()) as ApiError).issues?.[0]?.message).toMatch(/^YAML:/);

    const empty = await upload('');
    expect(empty.status).toBe(400);
  });

  it('refuses a JSON body with 415 and a body above the size limit with 413', async () => {
    const json = await h.api('/api/v1/releases', { method: 'POST', body: JSON.stringify({ name: 'origin' }) });
    expect(json.status).toBe(415);
    expect(await json.json()).toMatchObject({ code: 'unsupported_media_type' });
    const huge = await upload(`# ${'x'.repeat(300 * 1024)}\n${manifest('5.0.0')}`);
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ statusCode: 413, code: 'payload_too_large' });
  });

  it('answers an unknown release id with 404 and a malformed one with 400', async () => {
    const unknown = await h.api('/api/v1/releases/00000000-0000-4000-8000-000000000000');
    expect([unknown.status, ((await unknown.json()) as ApiError).code]).toEqual([404, 'release_not_found']);
    const malformed = await h.api('/api/v1/releases/not-a-uuid');
    expect([malformed.status, ((await malformed.json()) as ApiError).code]).toEqual([400, 'invalid_path_parameter']);
  });
});
