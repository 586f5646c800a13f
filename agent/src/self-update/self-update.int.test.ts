import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    await new SelfUpdate(alts, '0.3.0', silentLogger, undefined).start({ event: () => undefined, restart: () => undefined });
    expect(readdirSync(alts).sort()).toEqual(['0.2.0-bbb', '0.3.0-ccc', '0.4.0-ddd', 'broken', 'current', 'old', 'shipped.json']);
    expect(existsSync(join(alts, 'current', 'agent.js'))).toBe(true);
  });
});
