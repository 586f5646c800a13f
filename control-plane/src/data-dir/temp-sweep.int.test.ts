import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateOperatorKey } from '../auth/operator-key';
import { startHarness } from '../testing/harness';
import { sweepStaleTemps, TEMP_SWEEP_MARGIN_MS, tempName } from './data-file';

/**
 * Integration (real files): the temporary files `writeDurable` left when a power cut came between
 * write and rename are removed at start, and nothing else is: not one written since shortly before
 * the start (another replica sharing the directory may be writing it), not a file of another naming.
 * Before, nothing removed them.
 */
let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-sweep-'));
});
afterEach(() => rm(dataDir, { recursive: true, force: true }));

async function leave(name: string, ageMs: number, dir = dataDir): Promise<string> {
  await writeFile(join(dir, name), 'torn');
  const at = new Date(Date.now() - ageMs);
  await utimes(join(dir, name), at, at);
  return name;
}

it('removes a temporary file older than the start by the margin, and keeps a recent one and other names', async () => {
  await loadOrCreateOperatorKey(dataDir);
  const stale = await leave(tempName('secrets.key', 'a1b2c3d4e5f6'), TEMP_SWEEP_MARGIN_MS + 60_000);
  const inFlight = await leave(tempName('operator-key', '0123456789ab'), 1_000);
  const other = await leave('.secrets.key.tmp', TEMP_SWEEP_MARGIN_MS + 60_000);
  await mkdir(join(dataDir, tempName('dir', 'ffffffffffff')));

  expect(await sweepStaleTemps(dataDir, Date.now())).toEqual([stale]);
  expect((await readdir(dataDir)).sort()).toEqual(['operator-key', inFlight, other, tempName('dir', 'ffffffffffff')].sort());
  expect(await sweepStaleTemps(join(dataDir, 'absent'))).toEqual([]);
});

it('a starting control plane sweeps its data directory, tls/ and release-signing-keys/', async () => {
  await mkdir(join(dataDir, 'tls'));
  await mkdir(join(dataDir, 'release-signing-keys'));
  // A day: older than the start of this test worker, whatever ran in it before, by more than the margin.
  const old = 24 * 3_600_000;
  await leave(tempName('postgres-password', 'aaaaaaaaaaaa'), old);
  await leave(tempName('server.key', 'bbbbbbbbbbbb'), old, join(dataDir, 'tls'));
  await leave(tempName('k1.pem', 'cccccccccccc'), old, join(dataDir, 'release-signing-keys'));
  const h = await startHarness({ dataDir });
  try {
    const temps = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
    expect(await temps(dataDir)).toEqual([]);
    expect(await temps(join(dataDir, 'tls'))).toEqual([]);
    expect(await temps(join(dataDir, 'release-signing-keys'))).toEqual([]);
  } finally {
    await h.close();
  }
});
