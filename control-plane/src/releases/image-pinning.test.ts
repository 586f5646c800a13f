import { minimalComponent, type AssemblySpec } from '@flotilla/shared';
import { pinImages, tagReference } from './image-pinning';

const DIGEST = `sha256:${'c'.repeat(64)}`;

describe('tagReference', () => {
  it('splits registry, repository and tag the way Docker does', () => {
    expect(tagReference('127.0.0.1:5000/flotilla/busybox:test')).toMatchObject({
      registry: '127.0.0.1:5000',
      apiHost: '127.0.0.1:5000',
      repository: 'flotilla/busybox',
      tag: 'test',
      name: '127.0.0.1:5000/flotilla/busybox',
    });
    expect(tagReference('registry.example.com/app')).toMatchObject({ repository: 'app', tag: 'latest' });
    expect(tagReference('busybox:1.36')).toMatchObject({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/busybox',
      tag: '1.36',
      name: 'busybox',
    });
    expect(tagReference('docker.io/grafana/grafana')).toMatchObject({ repository: 'grafana/grafana', tag: 'latest' });
  });

  it('leaves references pinned by digest alone, with or without a tag', () => {
    expect(tagReference(`127.0.0.1:5000/a@${DIGEST}`)).toBeUndefined();
    expect(tagReference(`busybox:1@${DIGEST}`)).toBeUndefined();
  });
});

describe('pinImages', () => {
  const spec = (...images: [string, string][]): AssemblySpec => ({
    name: 'a',
    version: '1.0.0',
    probationMs: 30_000,
    components: images.map(([n, image]) => minimalComponent(n, image)),
    volumes: [],
    networks: ['default'],
  });

  it('replaces each tag with name@digest and keeps pinned images as they are', async () => {
    const asked: string[] = [];
    const out = await pinImages(spec(['web', 'r.example/web:1'], ['db', `r.example/db@${DIGEST}`]), async (ref) => {
      asked.push(ref.image);
      return DIGEST;
    });
    expect(out.ok && out.spec.components.map((c) => c.image)).toEqual([`r.example/web@${DIGEST}`, `r.example/db@${DIGEST}`]);
    expect(asked).toEqual(['r.example/web:1']);
  });

  it('names the component, the image and the field of every tag it cannot resolve', async () => {
    const out = await pinImages(spec(['web', 'r.example/web:1'], ['api', 'r.example/api:2']), async (ref) => {
      throw new Error(`HTTP 404 from ${ref.apiHost}: no such tag`);
    });
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.issues.map((i) => i.path)).toEqual(['services.api.image', 'services.web.image']);
    expect(out.issues[1]!.message).toBe(
      'component "web": cannot resolve image "r.example/web:1" to a digest (HTTP 404 from r.example: no such tag); push it, ' +
        "set the registry's login (PUT /api/v1/registries/r.example/credentials), or give it by digest (image@sha256:…)",
    );
  });
});
