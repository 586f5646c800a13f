import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend } from './file';

describe('file backend', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'flotilla-slotfile-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('arms a trial, and after the boot stage booted it, commits it', async () => {
    const path = join(dir, 'bootslot');
    const backend = new FileBackend(path);
    expect(await backend.status()).toEqual({ booted: 'A', committed: 'A', inTrial: false });
    await backend.armTrial('B');
    expect(readFileSync(path, 'utf8')).toBe('active=A\ntrial=B\ntries=1\nbooted=A\n');
    writeFileSync(path, 'active=A\ntrial=B\ntries=0\nbooted=B\n'); // the boot stage took the trial
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'A', inTrial: true });
    await backend.commit();
    expect(readFileSync(path, 'utf8')).toBe('active=B\ntrial=\ntries=0\nbooted=B\n');
  });

  it('refuses to arm the committed slot', async () => {
    await expect(new FileBackend(join(dir, 'bootslot')).armTrial('A')).rejects.toMatchObject({ code: 'trial-invalid' });
  });
});
