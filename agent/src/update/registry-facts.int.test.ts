import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonLogger } from '../support/logger';
import { preflight } from './preflight';
import { registryFacts } from './registry-facts';

// The agent's registry facts against a registry on 127.0.0.1 that answers a pinned digest with
// another manifest: an index of s390x only, or layers too big for any disk.

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const pinned = `sha256:${'d'.repeat(64)}`;
let bodies: Record<string, string> = {};
let server: Server;
let host: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = bodies[req.url ?? ''];
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function ask(): Promise<{ facts: Awaited<ReturnType<typeof registryFacts>>; logged: Record<string, unknown>[] }> {
  const logged: Record<string, unknown>[] = [];
  const logger = jsonLogger({ write: (line) => logged.push(JSON.parse(line) as Record<string, unknown>) });
  const facts = await registryFacts(`${host}/app@${pinned}`, { os: 'linux', architecture: 'arm64' }, undefined, undefined, logger);
  return { facts, logged };
}

describe('registryFacts over HTTP', () => {
  it('takes no fact from an answer that is not the pinned digest, says so in the log, and VERIFY goes on', async () => {
    const s390x = JSON.stringify({ schemaVersion: 2, manifests: [{ digest: sha('s'), size: 1, platform: { architecture: 's390x' } }] });
    const huge = JSON.stringify({ schemaVersion: 2, layers: [{ digest: sha('l'), size: 2 ** 50 }] });
    for (const forged of [s390x, huge]) {
      bodies = { [`/v2/app/manifests/${pinned}`]: forged };
      const { facts, logged } = await ask();
      expect(facts).toEqual({});
      expect(logged).toEqual([
        expect.objectContaining({
          level: 'warn',
          msg: 'image facts unknown: VERIFY goes on without them',
          ref: `${host}/app@${pinned}`,
          reason: `${host}/app: manifests/${pinned}: the registry answered content whose digest is ${sha(forged)}`,
        }),
      ]);
      const verdict = preflight({
        release: null,
        trustedKeys: [],
        board: undefined,
        platform: { os: 'linux', architecture: 'arm64' },
        images: [{ ref: `${host}/app@${pinned}`, present: false, ...facts }],
        freeDiskBytes: 2 ** 40,
        reserveBytes: 0,
        unknownImageBytes: 100 * 2 ** 20,
      });
      expect(verdict).toMatchObject({ ok: true });
    }
  });

  it('still reads the facts of the genuine manifest', async () => {
    const config = JSON.stringify({ architecture: 'arm64' });
    const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: sha(config) }, layers: [{ digest: sha('l'), size: 4096 }] });
    bodies = { [`/v2/app/manifests/${sha(manifest)}`]: manifest, [`/v2/app/blobs/${sha(config)}`]: config };
    const logged: string[] = [];
    const facts = await registryFacts(
      `${host}/app@${sha(manifest)}`,
      { os: 'linux', architecture: 'arm64' },
      undefined,
      undefined,
      jsonLogger({ write: (l) => logged.push(l) }),
    );
    expect(facts).toEqual({ platforms: [{ architecture: 'arm64' }], sizeBytes: 4096 });
    expect(logged).toEqual([]);
  });

  it('sizes the list entry the engine pulls on an arm/v7 or arm/v6 device, and none on an arm/v5 one', async () => {
    const manifestOf = (size: number) =>
      JSON.stringify({ schemaVersion: 2, config: { digest: sha(`c${size}`) }, layers: [{ digest: sha('l'), size }] });
    const v6 = manifestOf(6_000);
    const v7 = manifestOf(7_000);
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { digest: sha(v6), platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
        { digest: sha(v7), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      ],
    });
    bodies = { [`/v2/app/manifests/${sha(index)}`]: index, [`/v2/app/manifests/${sha(v6)}`]: v6, [`/v2/app/manifests/${sha(v7)}`]: v7 };
    const ref = `${host}/app@${sha(index)}`;
    const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
    const armv5 = { os: 'linux', architecture: 'arm', variant: 'v5' };
    expect((await registryFacts(ref, armv7)).sizeBytes).toBe(7_000);
    expect((await registryFacts(ref, { ...armv7, variant: 'v6' })).sizeBytes).toBe(6_000);
    const facts = await registryFacts(ref, armv5);
    expect(facts).toEqual({ platforms: [expect.objectContaining({ variant: 'v6' }), expect.objectContaining({ variant: 'v7' })] });
  });
});
