import { parseAutoboot, renderAutoboot } from '@flotilla/shared';
import { GRUBENV_SIZE, parseGrubenv, serializeGrubenv } from './grub';
import { parseSlotFile, renderSlotFile } from './file';

describe('autoboot.txt', () => {
  it('is written with tryboot_a_b in [all] and the trial partition in [tryboot]', () => {
    expect(renderAutoboot(2, 3)).toBe('[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n');
  });

  it('is read with comments and unrelated sections ignored', () => {
    const config = parseAutoboot(
      '# made by hand\n[all]\ntryboot_a_b=1\nboot_partition=3 # B\n[pi5]\nboot_partition=9\n[tryboot]\nboot_partition=2\n',
    );
    expect(config.all.get('boot_partition')).toBe('3');
    expect(config.tryboot.get('boot_partition')).toBe('2');
  });
});

describe('grubenv', () => {
  it('is a 1024-byte block padded with #', () => {
    const bytes = serializeGrubenv(new Map([['boot_slot', 'B']]));
    expect(bytes).toHaveLength(GRUBENV_SIZE);
    expect(bytes.toString().startsWith('# GRUB Environment Block\nboot_slot=B\n###')).toBe(true);
    expect(parseGrubenv(bytes)).toEqual(new Map([['boot_slot', 'B']]));
  });

  it('refuses a block of the wrong size', () => {
    expect(() => parseGrubenv(Buffer.from('# GRUB Environment Block\n'))).toThrow(/not a GRUB environment block/);
  });
});

describe('slot file', () => {
  it('defaults to slot A committed and booted', () => {
    expect(parseSlotFile(undefined)).toEqual({ active: 'A', trial: '', tries: 0, booted: 'A' });
  });

  it('round-trips', () => {
    const file = { active: 'A', trial: 'B', tries: 1, booted: 'B' } as const;
    expect(parseSlotFile(renderSlotFile(file))).toEqual(file);
  });

  it('refuses an unknown slot', () => {
    expect(() => parseSlotFile('active=C\n')).toThrow(/expected A, B or empty/);
  });
});
