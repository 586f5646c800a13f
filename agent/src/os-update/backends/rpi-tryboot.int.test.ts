import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpiTrybootBackend } from './rpi-tryboot';
import { copySlotBootFiles } from './rpi-slot-boot';

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

  it("puts the new root's boot files on the slot's boot partition before it arms the trial", async () => {
    writeFileSync(autoboot, '[all]\ntryboot_a_b=1\nboot_partition=2\n');
    firmwareBooted(2, false);
    const seen: string[] = [];
    const b = new RpiTrybootBackend({
      autobootPath: autoboot,
      partitions: { A: 2, B: 3 },
      deviceTreeRoot: dt,
      slotBoot: { write: async (slot) => void seen.push(`${slot}: ${readFileSync(autoboot, 'utf8').includes('[tryboot]')}`) },
    });
    await b.armTrial('B');
    expect(seen).toEqual(['B: false']);
    expect(readFileSync(autoboot, 'utf8')).toContain('[tryboot]\nboot_partition=3');
  });

  it('copies /boot/firmware of a root over the old boot files, with its own cmdline.txt', async () => {
    const root = join(dir, 'root');
    const boot = join(dir, 'boot');
    mkdirSync(join(root, 'boot', 'firmware', 'overlays'), { recursive: true });
    mkdirSync(boot);
    writeFileSync(join(root, 'boot', 'firmware', 'kernel8.img'), 'new kernel');
    writeFileSync(join(root, 'boot', 'firmware', 'cmdline.txt'), 'root=/dev/sda2 from the stock image');
    writeFileSync(join(root, 'boot', 'firmware', 'overlays', 'w1.dtbo'), 'overlay');
    writeFileSync(join(boot, 'kernel8.img'), 'old kernel');
    writeFileSync(join(boot, 'stale.dtb'), 'old');
    const copied = await copySlotBootFiles(root, boot, 'root=PARTLABEL=system_b rw\n');
    expect(copied.sort()).toEqual(['cmdline.txt', 'kernel8.img', 'overlays/w1.dtbo']);
    expect(readFileSync(join(boot, 'kernel8.img'), 'utf8')).toBe('new kernel');
    expect(readFileSync(join(boot, 'cmdline.txt'), 'utf8')).toBe('root=PARTLABEL=system_b rw\n');
    expect(() => readFileSync(join(boot, 'stale.dtb'))).toThrow();
  });

  it("refuses a root without boot files and leaves the slot's boot partition as it was", async () => {
    mkdirSync(join(dir, 'empty-root'));
    mkdirSync(join(dir, 'boot'));
    writeFileSync(join(dir, 'boot', 'kernel8.img'), 'old kernel');
    await expect(copySlotBootFiles(join(dir, 'empty-root'), join(dir, 'boot'), 'x')).rejects.toMatchObject({
      code: 'os-image-without-boot-files',
    });
    expect(readFileSync(join(dir, 'boot', 'kernel8.img'), 'utf8')).toBe('old kernel');
  });
});
