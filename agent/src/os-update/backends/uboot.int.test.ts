import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UbootBackend } from './uboot';

// The backend against a uboot.env file, cross-checked with U-Boot's own tools:
// mkenvimage (u-boot-tools) and fw_printenv / fw_setenv (libubootenv-tool).
const SIZE = 0x4000;

describe('uboot backend', () => {
  let dir: string;
  let envPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-uboot-'));
    envPath = join(dir, 'uboot.env');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fwConfig = (redundant: boolean): string => {
    const config = join(dir, 'fw_env.config');
    // fw_env.config: device, offset, environment size (a second line for the redundant copy).
    writeFileSync(
      config,
      `${envPath} 0x0 0x${SIZE.toString(16)}\n${redundant ? `${envPath} 0x${SIZE.toString(16)} 0x${SIZE.toString(16)}\n` : ''}`,
    );
    return config;
  };
  const printenv = (redundant = false): Record<string, string> =>
    Object.fromEntries(
      execFileSync('fw_printenv', ['-c', fwConfig(redundant)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  const setenv = (name: string, value: string, redundant = false) => execFileSync('fw_setenv', ['-c', fwConfig(redundant), name, value]);
  /** The environment U-Boot saves on the first boot (boot.scr's `saveenv`): its built-in one, whole. */
  const savedByUboot = (redundant = false): void => {
    writeFileSync(join(dir, 'env.txt'), 'bootcmd=run distro_bootcmd\nbootdelay=2\nflotilla_env=1\n');
    execFileSync('mkenvimage', ['-s', String(SIZE), ...(redundant ? ['-r'] : []), '-o', envPath, join(dir, 'env.txt')]);
  };

  it('reads an environment made by mkenvimage and arms a trial that fw_printenv sees', async () => {
    writeFileSync(join(dir, 'env.txt'), 'boot_slot=A\nbootlimit=5\nbootcmd=run distro_bootcmd\n');
    execFileSync('mkenvimage', ['-s', String(SIZE), '-o', envPath, join(dir, 'env.txt')]);
    const backend = new UbootBackend(envPath, { size: SIZE, redundant: false });
    expect(await backend.status()).toEqual({ booted: 'A', committed: 'A', inTrial: false });

    await backend.armTrial('B');
    expect(printenv()).toEqual({ boot_slot: 'B', bootcmd: 'run distro_bootcmd', bootcount: '0', bootlimit: '5', upgrade_available: '1' });
    expect(readFileSync(envPath)).toHaveLength(SIZE);
  });

  it('follows what boot.scr does: a trial boot counts, commit ends it; past bootlimit it has fallen back', async () => {
    savedByUboot();
    const backend = new UbootBackend(envPath, { size: SIZE, redundant: false });
    await backend.armTrial('B'); // no boot_slot yet: boot.scr's default, slot A
    expect(printenv()).toMatchObject({ bootcmd: 'run distro_bootcmd', bootdelay: '2' });
    setenv('bootcount', '1'); // boot.scr on the trial boot
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'A', inTrial: true });
    await backend.commit();
    expect(printenv()).toMatchObject({ boot_slot: 'B', upgrade_available: '0', bootcount: '0' });
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'B', inTrial: false });

    await backend.armTrial('A');
    // The trial never came up: after bootlimit boots, boot.scr switched back.
    setenv('boot_slot', 'B');
    setenv('upgrade_available', '0');
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'B', inTrial: false });
  });

  it('writes the redundant copy fw_setenv expects next, and reads what fw_setenv wrote', async () => {
    savedByUboot(true);
    const backend = new UbootBackend(envPath, { size: SIZE, redundant: true });
    await backend.armTrial('B');
    expect(printenv(true)).toMatchObject({ boot_slot: 'B', upgrade_available: '1', bootcmd: 'run distro_bootcmd' });
    setenv('bootcount', '1', true);
    await backend.commit();
    expect(printenv(true)).toMatchObject({ boot_slot: 'B', upgrade_available: '0', bootcount: '0' });
    setenv('boot_slot', 'A', true);
    expect((await backend.status()).booted).toBe('A');
    expect(readFileSync(envPath)).toHaveLength(2 * SIZE);
  });

  it('takes back an armed trial that was never booted', async () => {
    savedByUboot();
    const backend = new UbootBackend(envPath, { size: SIZE, redundant: false });
    await backend.armTrial('B');
    await backend.disarm();
    expect(printenv()).toMatchObject({ boot_slot: 'A', upgrade_available: '0' });
  });

  it('writes no environment from nothing: the board would lose its bootcmd to a file holding only the A/B variables', async () => {
    const backend = new UbootBackend(envPath, { size: SIZE, redundant: false });
    await expect(backend.armTrial('B')).rejects.toMatchObject({ code: 'uboot-env-missing', message: expect.stringContaining('boot.scr') });
    expect(existsSync(envPath)).toBe(false);
    // Damaged (its CRC no longer matches): left as it is, for U-Boot to fall back to its built-in one.
    savedByUboot();
    const damaged = readFileSync(envPath);
    damaged[10] ^= 0xff;
    writeFileSync(envPath, damaged);
    await expect(backend.armTrial('B')).rejects.toMatchObject({ code: 'uboot-env-missing' });
    expect(readFileSync(envPath).equals(damaged)).toBe(true);
  });

  it('reads only the environment area of a file that a damaged file system shows larger (3 GiB, sparse)', async () => {
    writeFileSync(join(dir, 'env.txt'), 'boot_slot=B\n');
    execFileSync('mkenvimage', ['-s', String(SIZE), '-o', envPath, join(dir, 'env.txt')]);
    truncateSync(envPath, 3 * 1024 ** 3);
    const backend = new UbootBackend(envPath, { size: SIZE, redundant: false });
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'B', inTrial: false });
  });
});
