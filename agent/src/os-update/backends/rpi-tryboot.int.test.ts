import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpiTrybootBackend } from './rpi-tryboot';

// The backend against autoboot.txt and the firmware's device-tree flags, in a temp dir.
describe('rpi-tryboot backend', () => {
  let dir: string;
  let autoboot: string;
  let dt: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-rpi-'));
    autoboot = join(dir, 'autoboot.txt');
    dt = join(dir, 'device-tree');
    mkdirSync(join(dt, 'chosen', 'bootloader'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** What the firmware reports: 4-byte big-endian cells. */
  const firmwareBooted = (partition: number, tryboot: boolean) => {
    const cell = (n: number) => Buffer.from([0, 0, 0, n]);
    writeFileSync(join(dt, 'chosen', 'bootloader', 'partition'), cell(partition));
    writeFileSync(join(dt, 'chosen', 'bootloader', 'tryboot'), cell(tryboot ? 1 : 0));
  };
  const backend = () => new RpiTrybootBackend({ autobootPath: autoboot, partitions: { A: 2, B: 3 }, deviceTreeRoot: dt });

  it('arms B in [tryboot], reboots with "0 tryboot", and commits by rewriting [all]', async () => {
    writeFileSync(autoboot, '[all]\ntryboot_a_b=1\nboot_partition=2\n');
    firmwareBooted(2, false);
    const b = backend();
    expect(await b.status()).toEqual({ booted: 'A', committed: 'A', inTrial: false });

    await b.armTrial('B');
    expect(readFileSync(autoboot, 'utf8')).toBe('[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n');
    expect(b.rebootCommand()).toEqual(['reboot', '0 tryboot']);

    firmwareBooted(3, true);
    expect(await b.status()).toEqual({ booted: 'B', committed: 'A', inTrial: true });
    await b.commit();
    expect(readFileSync(autoboot, 'utf8')).toBe('[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=2\n');
    expect(await b.status()).toEqual({ booted: 'B', committed: 'B', inTrial: false });
  });

  it('sees the fallback: after a failed trial the firmware boots [all] without the tryboot flag', async () => {
    writeFileSync(autoboot, '[all]\ntryboot_a_b=1\nboot_partition=2\n');
    await backend().armTrial('B');
    firmwareBooted(2, false);
    expect(await backend().status()).toEqual({ booted: 'A', committed: 'A', inTrial: false });
  });

  it('refuses an autoboot.txt without tryboot_a_b, which could not fall back', async () => {
    writeFileSync(autoboot, '[all]\nboot_partition=2\n');
    await expect(backend().status()).rejects.toMatchObject({ code: 'autoboot-invalid' });
  });
});
