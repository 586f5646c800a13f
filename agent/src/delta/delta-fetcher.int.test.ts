import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageDelta, Platform } from '@flotilla/shared';
import { EngineClient } from '../runtime/engine-client';
import { silentLogger } from '../support/logger';
import { instantClock } from '../support/test-clock';
import { DeltaFetcher, type DeltaContext } from './delta-fetcher';
import { download, getResponse } from './delta-http';
import { EngineImages } from './engine-images';
import { extractEntry, listTar, writeTar } from './tar';

// Integration (a real HTTP server on 127.0.0.1 and the file system): when the control plane has no
// usable delta, the agent says so in an event and leaves the image to the full pull; it never asks
// without an image of the same repository to patch from. The rebuild itself runs end to end in
// test/e2e/delta-update.e2e.test.ts.

const from = `127.0.0.1:5000/flotilla/app@sha256:${'a'.repeat(64)}`;
const to = `127.0.0.1:5000/flotilla/app@sha256:${'b'.repeat(64)}`;

let server: Server;
let answer: (url: string) => { status: number; body: unknown };
let port: number;
const asked: { url: string; authorization: string | undefined }[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-delta-'));
  server = createServer((req, res) => {
    asked.push({ url: req.url!, authorization: req.headers.authorization });
    const { status, body } = answer(req.url!);
    res.writeHead(status, { 'content-type': 'application/json' }).end(Buffer.isBuffer(body) ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function fetcher(waitMs = 10_000): DeltaFetcher {
  return new DeltaFetcher({
    apiUrl: `http://127.0.0.1:${port}`,
    deviceId: 'dev_a',
    password: 'secret-password-0123',
    ca: undefined,
    images: new EngineImages(new EngineClient()),
    workDir: dir,
    reserveBytes: 0,
    clock: instantClock(),
    logger: silentLogger,
    waitMs,
  });
}

function context(held: string[], platform: Platform = { os: 'linux', architecture: 'arm64' }): DeltaContext & { events: string[] } {
  const events: string[] = [];
  return {
    held,
    platform,
    auth: undefined,
    signal: new AbortController().signal,
    events,
    onEvent: (kind, m) => events.push(`${kind}: ${m}`),
  };
}

const delta = (status: ImageDelta['status'], error: string | null = null): ImageDelta => ({
  from,
  to,
  architecture: 'arm64',
  status,
  manifest: null,
  layers: [],
  deltaBytes: null,
  fullBytes: null,
  error,
});

it('asks with its own credentials, and falls back with an event when the delta failed, is refused or never gets ready', async () => {
  answer = () => ({ status: 200, body: delta('failed', 'registry down') });
  const failed = context([from]);
  await fetcher().prepare(to, failed);
  expect(failed.events).toEqual([
    `update-delta-fallback: ${to}: delta not used (the control plane could not compute it: registry down); pulling the whole image`,
  ]);
  expect(asked.at(-1)!.authorization).toBe(`Basic ${Buffer.from('dev_a:secret-password-0123').toString('base64')}`);
  expect(new URL(asked.at(-1)!.url, 'http://x').searchParams.get('from')).toBe(from);
  // The arm variant goes with the architecture: the control plane computes the delta for the entry this device pulls.
  await fetcher().prepare(to, context([from], { os: 'linux', architecture: 'arm', variant: 'v6' }));
  expect(new URL(asked.at(-1)!.url, 'http://x').searchParams.get('architecture')).toBe('arm/v6');

  answer = () => ({ status: 403, body: { code: 'delta_forbidden' } });
  const refused = context([from]);
  await fetcher().prepare(to, refused);
  expect(refused.events[0]).toMatch(/HTTP 403.*pulling the whole image/);

  answer = () => ({ status: 200, body: delta('computing') });
  const slow = context([from]);
  const before = asked.length;
  await fetcher(6_000).prepare(to, slow);
  expect(slow.events[0]).toContain('the control plane is still computing it');
  expect(asked.length - before).toBe(4); // at 0, 2, 4 and 6 s by the test clock
});

it('does not ask without an image of the same repository, nor for a delta that would not pay', async () => {
  const before = asked.length;
  const none = context([`127.0.0.1:5000/flotilla/other@sha256:${'c'.repeat(64)}`]);
  await fetcher().prepare(to, none);
  expect(asked.length).toBe(before);
  answer = () => ({ status: 200, body: { ...delta('ready'), manifest: `sha256:${'d'.repeat(64)}` } }); // no layer is a delta
  const nothing = context([from]);
  await fetcher().prepare(to, nothing);
  expect(nothing.events).toEqual([]);
});

it('writes tars that GNU tar reads, and reads them back entry by entry', async () => {
  writeFileSync(join(dir, 'a.json'), '{"a":1}');
  writeFileSync(join(dir, 'b.tar'), Buffer.alloc(1500, 7));
  await writeTar(join(dir, 'out.tar'), [
    { name: 'manifest.json', path: join(dir, 'a.json') },
    { name: '0.tar', path: join(dir, 'b.tar') },
  ]);
  expect(execFileSync('tar', ['-tvf', join(dir, 'out.tar')], { encoding: 'utf8' })).toMatch(/manifest\.json\n.*1500 .*0\.tar\n$/);
  const entries = await listTar(join(dir, 'out.tar'));
  expect(entries.map((e) => [e.name, e.size])).toEqual([
    ['manifest.json', 7],
    ['0.tar', 1500],
  ]);
  const digest = await extractEntry(join(dir, 'out.tar'), entries[1]!, join(dir, 'back.tar'));
  expect(digest).toBe(`sha256:${execFileSync('sha256sum', [join(dir, 'b.tar')], { encoding: 'utf8' }).slice(0, 64)}`);
});

it('refuses a tar header whose size is not octal, or whose data runs past the end of the file', async () => {
  writeFileSync(join(dir, 'c.bin'), Buffer.alloc(100, 3));
  await writeTar(join(dir, 'sized.tar'), [{ name: 'x/layer.tar', path: join(dir, 'c.bin') }]);
  const bytes = readFileSync(join(dir, 'sized.tar'));
  const withSize = (size: string) => {
    const copy = Buffer.from(bytes);
    copy.write(size, 124, 12, 'latin1');
    writeFileSync(join(dir, 'bad.tar'), copy);
    return listTar(join(dir, 'bad.tar'));
  };
  await expect(withSize('zzzzzzzzzzz\0')).rejects.toThrow(/the tar header of "x\/layer.tar" at byte 0 has no octal size \("zzzzzzzzzzz"\)/);
  await expect(withSize('77777777777\0')).rejects.toThrow(
    /"x\/layer.tar" at byte 0 says 8589934591 bytes, past the end of the 2048-byte file/,
  );
});

describe('what the registry and the control plane send is bounded and checked before use', () => {
  // Images in a registry served by the test server, so that the delta's registry reads come here.
  const sha = (bytes: Buffer | string) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const here = (digest: string) => `127.0.0.1:${port}/flotilla/app@${digest}`;
  const from = here(`sha256:${'a'.repeat(64)}`);
  const plan = (manifest: string, layers: ImageDelta['layers']): ImageDelta => ({ ...delta('ready'), from, manifest, layers });
  const config = Buffer.from(JSON.stringify({ rootfs: { diff_ids: [sha('layer')] } }));
  const manifest = Buffer.from(JSON.stringify({ config: { digest: sha(config) }, layers: [{ digest: sha('blob'), size: 42 }] }));
  /** The registry holds `manifest` and `config`, and `index` when given; the control plane answers `delta`. */
  const serve = (delta: ImageDelta, index?: Buffer) => {
    answer = (url) =>
      url.includes(`/manifests/${sha(manifest)}`)
        ? { status: 200, body: manifest }
        : index && url.includes('/manifests/')
          ? { status: 200, body: index }
          : url.includes('/blobs/')
            ? { status: 200, body: config }
            : { status: 200, body: delta };
  };
  const layer = (blob: string, size: number): ImageDelta['layers'][number] => ({
    diffId: sha('layer'),
    blob: { digest: blob, size },
    source: 'delta',
    base: sha('base'),
    delta: { digest: sha('patch'), size: 10 },
  });

  it('a manifest larger than any manifest is cut at 4 MiB, not read into memory', async () => {
    const pinned = sha('the real manifest');
    answer = (url) =>
      url.startsWith('/v2/')
        ? { status: 200, body: Buffer.alloc(5 * 1024 * 1024, 32) }
        : { status: 200, body: plan(pinned, [layer(sha('x'), 5)]) };
    const c = context([from]);
    await fetcher().prepare(here(pinned), c);
    expect(c.events).toEqual([
      expect.stringMatching(/delta not used \(registry manifests\/sha256:[0-9a-f]{64}: GET .* answer over 4194304 bytes\)/),
    ]);
  });

  it("a plan naming another blob than the verified manifest's is not used", async () => {
    serve(plan(sha(manifest), [layer(sha('another blob'), 42)]));
    const c = context([from]);
    await fetcher().prepare(here(sha(manifest)), c);
    expect(c.events).toEqual([expect.stringContaining("the delta's layers are not the manifest's (layer 0: another blob or size)")]);
  });

  it('a plan naming a manifest the pinned index does not list for this architecture is not used', async () => {
    const index = Buffer.from(JSON.stringify({ manifests: [{ digest: sha(manifest), platform: { architecture: 'amd64', os: 'linux' } }] }));
    serve(plan(sha(manifest), [layer(sha('blob'), 42)]), index);
    const c = context([from]);
    await fetcher().prepare(here(sha(index)), c);
    expect(c.events).toEqual([
      expect.stringContaining(`the delta's manifest ${sha(manifest)} is not the release's image ${here(sha(index))} for linux/arm64`),
    ]);
  });

  it("a plan naming another arm variant's manifest than the one the engine pulls here is not used", async () => {
    const index = Buffer.from(
      JSON.stringify({
        manifests: [
          { digest: sha(manifest), platform: { architecture: 'arm', os: 'linux', variant: 'v6' } },
          { digest: sha('the v7 manifest'), platform: { architecture: 'arm', os: 'linux', variant: 'v7' } },
        ],
      }),
    );
    serve(plan(sha(manifest), [layer(sha('blob'), 42)]), index);
    const c = context([from], { os: 'linux', architecture: 'arm', variant: 'v7' });
    await fetcher().prepare(here(sha(index)), c);
    expect(c.events).toEqual([
      expect.stringContaining(`the delta's manifest ${sha(manifest)} is not the release's image ${here(sha(index))} for linux/arm/v7`),
    ]);
  });

  it('a download larger than the size its digest was announced with is cut there', async () => {
    answer = () => ({ status: 200, body: Buffer.alloc(64 * 1024, 1) });
    const res = await getResponse(`http://127.0.0.1:${port}/blob`, {}, new AbortController().signal, undefined);
    await expect(download(res, join(dir, 'blob'), false, 1000)).rejects.toThrow(
      'download is larger than the 1000 bytes announced; not used',
    );
  });
});
