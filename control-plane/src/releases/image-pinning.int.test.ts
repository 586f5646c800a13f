import { verifyRelease, type ApiError, type ReleaseView, type SigningKeysView } from '@flotilla/shared';
import { startAuthRegistry, type AuthRegistry } from '../../../test/support/auth-registry';
import { freePort } from '../../../test/support/ports';
import { startHarness, type Harness } from '../testing/harness';

jest.setTimeout(120_000);

let h: Harness;
let registry: AuthRegistry | undefined;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await registry?.stop();
  await h?.close();
});

const manifest = (version: string, image: string) =>
  `name: pinned\nx-flotilla: { version: ${version} }\nservices:\n  web:\n    image: ${image}\n    command: httpd -f -p 8080\n`;

function publish(version: string, image: string): Promise<Response> {
  return h.api('/api/v1/releases', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: manifest(version, image) });
}

describe('images pinned by digest at publish', () => {
  it('resolves a tag to the digest its registry serves, and that digest is what is signed and delivered', async () => {
    // What the registry serves for the tag now (the test image is one manifest, no list).
    const head = await fetch('http://127.0.0.1:5000/v2/flotilla/busybox/manifests/test', {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    const busybox = `127.0.0.1:5000/flotilla/busybox@${head.headers.get('docker-content-digest')}`;
    expect(busybox).toMatch(/@sha256:[0-9a-f]{64}$/);
    const res = await publish('1.0.0', '127.0.0.1:5000/flotilla/busybox:test');
    expect(res.status).toBe(201);
    const release = (await res.json()) as ReleaseView;
    expect(release.assembly.components[0]!.image).toBe(busybox);
    const keys = (await (await h.api('/api/v1/signing-keys')).json()) as SigningKeysView;
    expect(verifyRelease(release, keys.keys)).toMatchObject({ ok: true });
    const stored = await h.db.query<{ image: string }>(`SELECT assembly->'components'->0->>'image' AS image FROM releases WHERE id = $1`, [
      release.id,
    ]);
    expect(stored).toEqual([{ image: busybox }]);
  });

  it('refuses a tag its registry does not have, naming the component and the image', async () => {
    const res = await publish('2.0.0', '127.0.0.1:5000/flotilla/busybox:no-such-tag');
    expect(res.status).toBe(400);
    const body = (await res.json()) as ApiError;
    expect(body.code).toBe('unresolvable_image');
    expect(body.issues).toEqual([
      {
        path: 'services.web.image',
        message: expect.stringMatching(
          /^component "web": cannot resolve image "127\.0\.0\.1:5000\/flotilla\/busybox:no-such-tag" .*HTTP 404/,
        ),
      },
    ]);
  });

  it('refuses a tag on a registry that cannot be reached', async () => {
    // A port that was free a moment ago and has no listener: connection refused, at once.
    const port = await freePort();
    const res = await publish('3.0.0', `127.0.0.1:${port}/app:1`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ApiError).issues![0]!.message).toMatch(/unreachable/);
  });

  it('resolves a tag on a private registry with its stored login, and not without it', async () => {
    registry = await startAuthRegistry();
    const pushed = await registry.pushUniqueImage('pin/private');
    const tagged = `${registry.host}/pin/private:t`;
    const refused = await publish('4.0.0', tagged);
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as ApiError).issues![0]!.message).toMatch(/HTTP 401 .*wants a login and none is stored/);
    const login = await h.api(`/api/v1/registries/${registry.host}/credentials`, {
      method: 'PUT',
      body: JSON.stringify({ username: registry.username, password: registry.password }),
    });
    expect(login.status).toBe(200);
    const res = await publish('4.0.0', tagged);
    expect(res.status).toBe(201);
    expect(((await res.json()) as ReleaseView).assembly.components[0]!.image).toBe(pushed);
  });
});
