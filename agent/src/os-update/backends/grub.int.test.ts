import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrubBackend } from './grub';

// The backend against a grubenv made and read by grub-editenv (grub-common).
describe('grub backend', () => {
  let dir: string;
  let envPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-grub-'));
    envPath = join(dir, 'grubenv');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const list = () => execFileSync('grub-editenv', [envPath, 'list'], { encoding: 'utf8' }).trim().split('\n').sort();

  it('arms, commits and sees a fallback through the variables grub.cfg uses', async () => {
    execFileSync('grub-editenv', [envPath, 'create']);
    execFileSync('grub-editenv', [envPath, 'set', 'boot_slot=A', 'saved_entry=flotilla']);
    const backend = new GrubBackend(envPath);
    expect(await backend.status()).toEqual({ booted: 'A', committed: 'A', inTrial: false });

    await backend.armTrial('B');
    expect(list()).toEqual(['boot_slot=B', 'bootcount=0', 'saved_entry=flotilla', 'upgrade_available=1']);
    expect(readFileSync(envPath)).toHaveLength(1024);
    execFileSync('grub-editenv', [envPath, 'set', 'bootcount=1']); // grub.cfg on the trial boot
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'A', inTrial: true });
    await backend.commit();
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'B', inTrial: false });

    await backend.armTrial('A');
    execFileSync('grub-editenv', [envPath, 'set', 'boot_slot=B', 'upgrade_available=0']); // grub.cfg fell back
    expect(await backend.status()).toEqual({ booted: 'B', committed: 'B', inTrial: false });
  });
});
