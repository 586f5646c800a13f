import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryReader } from './registry-reader';

// Integration: the delta computation reads the list entry the device's engine pulls, from a
// registry on 127.0.0.1 serving a multi-arch image with two arm variants.

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const configOf = (name: string) => JSON.stringify({ rootfs: { diff_ids: [sha(`${name} tar`)] } });
const manifestOf = (name: string) =>
  JSON.stringify({
    schemaVersion: 2,
    config: { digest: sha(configOf(name)), size: 1 },
    layers: [{ digest: sha(`${name} blob`), size: 1 }],
  });
const index = JSON.stringify({
  schemaVersion: 2,
  manifests: [
    { digest: sha(manifestOf('v6')), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
    { digest: sha(manifestOf('v7')), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
    { digest: sha(manifestOf('arm64')), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  ],
});
const bodies = new Map<string, string>();
for (const body of [index, ...['v6', 'v7', 'arm64'].flatMap((n) => [manifestOf(n), configOf(n)])]) bodies.set(sha(body), body);

let server: Server;
let ref: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const body = bodies.get(req.url!.slice(req.url!.lastIndexOf('/') + 1));
    if (body === undefined) return res.writeHead(404).end();
    res.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ref = `127.0.0.1:${(server.address() as AddressInfo).port}/app@${sha(index)}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('RegistryReader.layers on a multi-arch image', () => {
  it('takes the entry of the arm variant asked for, an older one when that is all there is, arm64 by v8', async () => {
    const reader = new RegistryReader(async () => undefined);
    const arm = (variant: string) => ({ os: 'linux', architecture: 'arm', variant });
    expect((await reader.layers(ref, arm('v7'))).manifest).toBe(sha(manifestOf('v7')));
    expect((await reader.layers(ref, arm('v6'))).manifest).toBe(sha(manifestOf('v6')));
    expect((await reader.layers(ref, arm('v8'))).manifest).toBe(sha(manifestOf('v7')));
    expect((await reader.layers(ref, { os: 'linux', architecture: 'arm64' })).manifest).toBe(sha(manifestOf('arm64')));
    await expect(reader.layers(ref, arm('v5'))).rejects.toThrow(`${ref} has no image for linux/arm/v5`);
  });
});
