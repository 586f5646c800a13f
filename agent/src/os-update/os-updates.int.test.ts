import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoardSpec, Release } from '@flotilla/shared/device';
import { silentLogger } from '../support/logger';
import { FileBackend } from './backends/file';
import { OsUpdates } from './os-updates';

// The agent's OS track against a real HTTP server on 127.0.0.1 and slot files: what an operator
// sees (reported `os.lastFailure`, events) when the image cannot be had.

let server: Server;
let port: number;
let dir: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(404).end('not here'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'flotilla-os-updates-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const release = (url: string) =>
  ({
    id: 'rel_1',
    assembly: { os: [{ board: 'test-board', version: '2.0.0', url, sha256: 'a'.repeat(64), size: 1024 }] },
  }) as unknown as Release;

let now = 0;
beforeEach(() => (now = 0));

async function osTrack(): Promise<{ updates: OsUpdates; events: string[] }> {
  const events: string[] = [];
  const updates = new OsUpdates({
    spec: { name: 'test-board' } as BoardSpec,
    version: '1.0.0',
    backend: new FileBackend(join(dir, 'bootslot')),
    slotDevice: (slot) => join(dir, `root${slot}.img`),
    stateDir: dir,
    logger: silentLogger,
    trialTimeoutMs: 60_000,
    reboot: async () => undefined,
    bootId: async () => 'boot-1',
    now: () => now,
    ca: undefined,
  });
  await updates.start({
    event: (kind, message) => events.push(`${kind}: ${message}`),
    changed: () => undefined,
    checks: async () => ({ agentUp: true, controlPlaneReached: true, assemblyHealthy: true }),
  });
  return { updates, events };
}

describe('OS updates: an image that cannot be had', () => {
  it('a server that does not serve it (yet) is retried, and the reported state says why meanwhile', async () => {
    const { updates, events } = await osTrack();
    await updates.tick(release(`http://127.0.0.1:${port}/os.img`));
    expect(updates.status()).toMatchObject({
      phase: 'write',
      lastFailure: `writing OS 2.0.0: GET http://127.0.0.1:${port}/os.img answered 404; the release's OS image URL must serve the image; trying again in 30 s`,
    });
    expect(events).toEqual([expect.stringMatching(/^os-update-started:/), `os-update-failed: ${updates.status().lastFailure}`]);
  });

  it('a write retried every 30 s is told in an event at first, then at most every 10 minutes with the attempts since', async () => {
    const { updates, events } = await osTrack();
    const url = release(`http://127.0.0.1:${port}/os.img`);
    for (now = 0; now < 10 * 60_000; now += 30_000) await updates.tick(url);
    expect(events.filter((e) => e.startsWith('os-update-failed'))).toHaveLength(1);
    await updates.tick(url);
    expect(events.at(-1)).toMatch(
      /^os-update-failed: writing OS 2\.0\.0: GET .* answered 404.*; trying again in 30 s \(20 attempts failed since the last event\)$/,
    );
    expect(events.filter((e) => e.startsWith('os-update-failed'))).toHaveLength(2);
  });

  it('a URL the device can never fetch fails the update for good, with an event', async () => {
    const { updates, events } = await osTrack();
    await updates.tick(release(`ftp://127.0.0.1:${port}/os.img`));
    expect(updates.status()).toMatchObject({
      phase: 'idle',
      lastFailure: expect.stringContaining('only http:// and https:// are fetched'),
    });
    expect(events.at(-1)).toMatch(
      /^os-update-failed: OS update to 2.0.0 failed: writing slot B: GET ftp:.* only http:\/\/ and https:\/\/ are fetched/,
    );
  });
});
