import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStatus, type LocalStatus as LocalStatusType } from '@flotilla/shared';
import { LocalStatusFile } from './local-status';

// Integration: the real file system.
describe('LocalStatusFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'local-status-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a status apps on the board can read, replacing the previous one', async () => {
    const file = new LocalStatusFile(join(dir, 'run', 'flotilla'));
    const status: LocalStatusType = {
      schema: 1,
      at: new Date().toISOString(),
      agentVersion: '0.1.0',
      rev: 2,
      update: { phase: 'idle', active: { rev: 2, releaseId: 'r2', version: '1.0.0' }, candidate: null, failedRev: null, lastFailure: null },
      components: [],
      deviceId: 'dev_1',
      board: 'raspberrypi5',
      connected: true,
      assembly: { name: 'origin', version: '1.0.0', releaseId: 'r2' },
    };
    await file.write({ ...status, rev: 1 });
    await file.write(status);
    expect(LocalStatus.parse(JSON.parse(readFileSync(file.path, 'utf8')))).toEqual(status);
    // Apps read it as other users inside their containers.
    expect(statSync(file.path).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'run', 'flotilla')).mode & 0o777).toBe(0o755);
  });
});
