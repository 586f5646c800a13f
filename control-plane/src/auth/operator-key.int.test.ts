import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateOperatorKey } from './operator-key';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-key-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('loadOrCreateOperatorKey (file system)', () => {
  it('generates a key once, keeps it 0600, and reads the same key afterwards', async () => {
    const first = await loadOrCreateOperatorKey(dir);
    expect(first).toEqual({ key: expect.stringMatching(/^fok_[A-Za-z0-9_-]{43}$/), path: join(dir, 'operator-key'), generated: true });
    expect((await stat(first.path!)).mode & 0o777).toBe(0o600);
    expect((await readFile(first.path!, 'utf8')).trim()).toBe(first.key);
    expect(await loadOrCreateOperatorKey(dir)).toEqual({ ...first, generated: false });
  });

  it('uses the configured key and writes nothing', async () => {
    expect(await loadOrCreateOperatorKey(dir, 'configured-key-0123456789')).toEqual({ key: 'configured-key-0123456789', generated: false });
    await expect(stat(join(dir, 'operator-key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
