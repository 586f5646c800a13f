import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mountSmallDisk, type SmallDisk } from '../../../test/support/small-disk';
import { DeltaSourceError, DeltaWorkshopFullError } from './deltas.errors';
import { RegistryReader } from './registry-reader';

/**
 * Integration (a real HTTP registry stand-in, a real small tmpfs as the workshop's disk): what a
 * registry sends for a delta is bounded before it can fill the control plane's disk, where its
 * database and keys live, and a layer cut short leaves no file.
 */
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 ** 2;
const bombTar = Buffer.alloc(24 * MiB);
const bomb = gzipSync(bombTar);
const small = gzipSync(Buffer.from('a small layer'));

let server: Server;
let host: string;
let disk: SmallDisk;
beforeAll(async () => {
  disk = await mountSmallDisk(16 * 1024);
  server = createServer((req, res) => {
    if (req.url?.includes('endless') || req.url?.includes('/manifests/')) {
      const chunk = gzipSync(randomBytes(64 * 1024)); // incompressible: the blob, not the unpacked layer, reaches its bound
      const more = (): void => void (res.write(chunk) ? setImmediate(more) : res.once('drain', more));
      res.on('close', () => res.destroy());
      return more();
    }
    res.end(req.url?.includes(sha(bomb).slice(7)) ? bomb : small);
  }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await disk.unmount();
});

const ref = () => `${host}/layers@sha256:${'0'.repeat(64)}`;
const reader = () => new RegistryReader(async () => undefined, 8 * MiB);
const absent = (file: string) =>
  access(file).then(
    () => false,
    () => true,
  );

describe('RegistryReader bounds', () => {
  it('refuses a manifest past 4 MiB instead of holding a body without end in memory', async () => {
    // Before: read whole (arrayBuffer) for as long as the registry sent, up to the 300 s timeout.
    await expect(reader().layers(ref(), { os: 'linux', architecture: 'arm64' })).rejects.toThrow(/longer than 4194304 bytes/);
  });

  it('writes a layer whose digests match', async () => {
    const file = join(disk.path, 'ok.tar');
    await reader().layerTar(ref(), { diffId: sha(Buffer.from('a small layer')), blob: { digest: sha(small), size: small.length } }, file);
    expect(await absent(file)).toBe(false);
  });

  it('cuts a blob that goes on past its announced size, and removes what it wrote', async () => {
    const file = join(disk.path, 'endless.tar');
    const layer = { diffId: sha(Buffer.alloc(0)), blob: { digest: 'sha256:endless', size: 2 * MiB } };
    await expect(reader().layerTar(ref(), layer, file)).rejects.toBeInstanceOf(DeltaSourceError);
    expect(await absent(file)).toBe(true);
  });

  it('stops unpacking a layer that would leave less than the reserve free, and removes it', async () => {
    await mkdir(join(disk.path, 'scratch'), { recursive: true });
    const file = join(disk.path, 'scratch', 'bomb.tar');
    const layer = { diffId: sha(bombTar), blob: { digest: sha(bomb), size: bomb.length } };
    // Before: unpacked until the disk was full (ENOSPC), the database's disk with it.
    await expect(reader().layerTar(ref(), layer, file)).rejects.toBeInstanceOf(DeltaWorkshopFullError);
    expect(await absent(file)).toBe(true);
  });
});
