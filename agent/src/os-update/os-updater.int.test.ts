import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend, parseSlotFile, renderSlotFile } from './backends/file';
import type { OsImageTarget, TrialChecks } from './os-update-plan';
import { OsUpdater, type OsUpdateReport } from './os-updater';
import type { OpenImageSource } from './slot-writer';

// The whole OS update on files: two slot files, the `file` backend's slot file, a journal,
// and a boot stage simulated exactly as the QEMU image's init does it (backends/file.ts).
describe('OsUpdater with the file backend', () => {
  let dir: string;
  let bootNumber: number;
  let reports: OsUpdateReport[];
  let reboots: string[][];
  let checks: TrialChecks;
  let now: number;
  const image = randomBytes(3 * 1024 * 1024 + 17);
  const target: OsImageTarget = {
    version: '2026.12.0',
    sha256: createHash('sha256').update(image).digest('hex'),
    size: image.length,
    url: 'http://127.0.0.1/unused',
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-osupdate-'));
    bootNumber = 1;
    reports = [];
    reboots = [];
    checks = { agentUp: true, controlPlaneReached: true, assemblyHealthy: true };
    now = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Serves the image in 256 KiB pieces, optionally failing after `failAfter` bytes. */
  const offsets: number[] = [];
  const source =
    (bytes: Buffer, failAfter = Infinity): (() => OpenImageSource) =>
    () =>
    async (offset) => (
      offsets.push(offset),
      (async function* () {
        for (let pos = offset; pos < bytes.length; pos += 256 * 1024) {
          if (pos >= failAfter) throw new Error('connection reset');
          yield bytes.subarray(pos, Math.min(pos + 256 * 1024, bytes.length));
        }
      })()
    );

  const updater = (open = source(image), slotDevice = (slot: string) => join(dir, `root${slot}.img`)) =>
    new OsUpdater({
      backend: new FileBackend(join(dir, 'bootslot')),
      slotDevice,
      openImage: open,
      journalPath: join(dir, 'journal.json'),
      checkpointPath: join(dir, 'checkpoint.json'),
      reboot: async (argv) => void reboots.push([...argv]),
      bootId: async () => `boot-${bootNumber}`,
      checks: async () => checks,
      runningVersion: target.version,
      report: async (r) => void reports.push(r),
      now: () => now,
      policy: { trialTimeoutMs: 60_000 },
      checkpointEvery: 1024 * 1024,
    });

  /** The boot stage: take an armed trial once, else boot the committed slot. */
  const bootMachine = () => {
    const path = join(dir, 'bootslot');
    const file = parseSlotFile(readFileSync(path, 'utf8'));
    const next =
      file.trial && file.tries > 0
        ? { ...file, tries: file.tries - 1, booted: file.trial }
        : { ...file, trial: '' as const, tries: 0, booted: file.active };
    writeFileSync(path, renderSlotFile(next));
    bootNumber += 1;
  };

  it('writes slot B (resuming after a broken download), boots the trial, commits, and reports', async () => {
    const first = updater(source(image, 2 * 1024 * 1024));
    await first.onStart();
    await first.request(target);
    expect(first.phase).toBe('write'); // transient failure: stays, resumes on the next request
    const second = updater();
    await second.request(target);
    expect(offsets.slice(-2)).toEqual([0, 2 * 1024 * 1024]); // resumed from the last checkpoint
    expect(readFileSync(join(dir, 'rootB.img')).equals(image)).toBe(true);
    expect(reboots).toEqual([['reboot']]);
    expect(parseSlotFile(readFileSync(join(dir, 'bootslot'), 'utf8'))).toMatchObject({ active: 'A', trial: 'B', tries: 1 });

    bootMachine();
    const afterReboot = updater();
    await afterReboot.onStart();
    expect(afterReboot.inTrial).toBe(true);
    await afterReboot.checkTrial();
    expect(reports).toEqual([{ kind: 'report-committed', version: '2026.12.0', slot: 'B' }]);
    expect(parseSlotFile(readFileSync(join(dir, 'bootslot'), 'utf8'))).toEqual({ active: 'B', trial: '', tries: 0, booted: 'B' });
  });

  it('reports the failed OS update after the boot stage fell back from a trial that never reached the agent', async () => {
    const u = updater();
    await u.onStart();
    await u.request(target);
    bootMachine(); // trial boot: the agent never starts in it (broken image)
    bootMachine(); // the watchdog reboots: tries exhausted, back to A
    const back = updater();
    await back.onStart();
    expect(reports).toEqual([
      {
        kind: 'report-failed',
        version: '2026.12.0',
        reason: 'the trial boot of slot B did not bring the agent up; the bootloader fell back to slot A',
      },
    ]);
    expect(parseSlotFile(readFileSync(join(dir, 'bootslot'), 'utf8'))).toMatchObject({ active: 'A', booted: 'A', trial: '' });
  });

  it('falls back by itself when the trial does not pass its checks in time', async () => {
    const u = updater();
    await u.onStart();
    await u.request(target);
    bootMachine();
    const trial = updater();
    await trial.onStart();
    checks = { ...checks, controlPlaneReached: false };
    now = 61_000;
    await trial.checkTrial();
    expect(reboots).toEqual([['reboot'], ['reboot']]);
    bootMachine();
    await updater().onStart();
    expect(reports[0]).toMatchObject({ kind: 'report-failed', reason: expect.stringContaining('controlPlaneReached') });
  });

  it('refuses an image whose hash does not match, without arming anything', async () => {
    const u = updater(source(Buffer.alloc(image.length, 1)));
    await u.onStart();
    await u.request(target);
    expect(reports[0]).toMatchObject({ kind: 'report-failed', reason: expect.stringContaining('refusing to boot it') });
    expect(reboots).toEqual([]);
  });

  // Devices whose size does not grow, as a slot partition: /dev/null reads as empty (a slot smaller
  // than any image), /dev/full takes no byte (ENOSPC, as writing past a partition's end).
  it('refuses, for good and before downloading, an image larger than the slot', async () => {
    offsets.length = 0;
    const u = updater(source(image), () => '/dev/null');
    await u.onStart();
    await u.request(target);
    expect(reports).toEqual([
      {
        kind: 'report-failed',
        version: '2026.12.0',
        reason: `writing slot B: the OS image (${image.length} bytes) does not fit slot /dev/null: build the image for this board's partition layout`,
      },
    ]);
    expect(offsets).toEqual([]);
    expect(u.failedSha256).toBe(target.sha256);
    expect(reboots).toEqual([]);
  });

  it('a slot that ends while being written fails the update for good, with the reason', async () => {
    const u = updater(source(image), () => '/dev/full');
    await u.onStart();
    await u.request(target);
    expect(reports[0]).toMatchObject({
      kind: 'report-failed',
      reason: expect.stringMatching(/does not fit slot \/dev\/full, which ended at byte 0/),
    });
    expect(u.phase).toBe('idle');
    expect(reboots).toEqual([]);
  });

  it('a damaged checkpoint (a negative or fractional offset) costs a write from the start, not a stuck update', async () => {
    for (const written of [-1, 1.5]) {
      rmSync(join(dir, 'rootB.img'), { force: true });
      writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ sha256: target.sha256, written }));
      const u = updater();
      await u.onStart();
      await u.request(target);
      expect(readFileSync(join(dir, 'rootB.img')).equals(image)).toBe(true);
      expect(u.phase).toBe('reboot');
      rmSync(join(dir, 'journal.json'));
    }
  });
});
