import { statfsSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Release } from '@flotilla/shared/device';
import { silentLogger } from '../support/logger';
import { SelfUpdate } from './self-update';

// The agent's side of alts/ on real files: what it keeps of the installed versions.

let alts: string;
beforeEach(() => (alts = mkdtempSync(join(tmpdir(), 'flotilla-alts-'))));
afterEach(() => rmSync(alts, { recursive: true, force: true }));

function install(name: string): void {
  mkdirSync(join(alts, name));
  writeFileSync(join(alts, name, 'agent.js'), '');
  writeFileSync(join(alts, name, 'meta.json'), JSON.stringify({ version: name, sha256: 'b'.repeat(64) }));
}

describe('SelfUpdate at start', () => {
  it('keeps the versions a role names and removes the ones none does, so updates do not fill the disk', async () => {
    for (const name of ['0.1.0-aaa', '0.2.0-bbb', '0.3.0-ccc', '0.4.0-ddd', '0.3.1-eee', '0.5.0-half']) install(name);
    symlinkSync('0.2.0-bbb', join(alts, 'old'));
    symlinkSync('0.3.0-ccc', join(alts, 'current'));
    symlinkSync('0.4.0-ddd', join(alts, 'broken'));
    writeFileSync(join(alts, 'shipped.json'), '{}');
    await new SelfUpdate(alts, '0.3.0', silentLogger, undefined, 0).start({ event: () => undefined, restart: () => undefined });
    expect(readdirSync(alts).sort()).toEqual(['0.2.0-bbb', '0.3.0-ccc', '0.4.0-ddd', 'broken', 'current', 'old', 'shipped.json']);
    expect(existsSync(join(alts, 'current', 'agent.js'))).toBe(true);
  });

  it('does not download a bundle that would not leave the reserve free on its disk, and says so', async () => {
    const asked: string[] = [];
    const server = createServer((req, res) => (asked.push(req.url!), res.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { bavail, bsize } = statfsSync(alts);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent.js`;
      const release = {
        id: 'rel_1',
        assembly: { agent: { version: '0.4.0', url, sha256: 'c'.repeat(64), size: bavail * bsize } },
      } as unknown as Release;
      const events: string[] = [];
      const update = new SelfUpdate(alts, '0.3.0', silentLogger, undefined, 64 * 1024 * 1024);
      await update.start({ event: (kind, message) => events.push(`${kind}: ${message}`), restart: () => undefined });
      await update.tick(release);
      expect(events).toEqual([
        expect.stringMatching(
          /^agent-update-failed: agent 0\.4\.0 not installed: not enough room in .* for the \d+-byte agent bundle: \d+ bytes free, 67108864 must stay free.*; trying again in 30 s$/,
        ),
      ]);
      expect(asked).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a download retried every 30 s is told at its start and first failure, then at most every 10 minutes', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent.js`;
      const release = {
        id: 'rel_1',
        assembly: { agent: { version: '0.4.0', url, sha256: 'c'.repeat(64), size: 1024 } },
      } as unknown as Release;
      let now = 0;
      const events: string[] = [];
      const update = new SelfUpdate(alts, '0.3.0', silentLogger, undefined, 0, () => now);
      await update.start({ event: (kind, message) => events.push(`${kind}: ${message}`), restart: () => undefined });
      for (; now <= 10 * 60_000; now += 30_000) await update.tick(release);
      expect(events).toEqual([
        'agent-update-started: installing agent 0.4.0 beside 0.3.0',
        expect.stringMatching(/^agent-update-failed: agent 0\.4\.0 not installed: .*404.*; trying again in 30 s$/),
        expect.stringMatching(
          /^agent-update-failed: agent 0\.4\.0 not installed: .*404.*; trying again in 30 s \(20 attempts failed since the last event\)$/,
        ),
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
