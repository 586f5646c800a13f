import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BOARD_MODELS, boardForModel } from './board';

describe('board recognition', () => {
  it('knows the models of every board spec in firmware-specs/', () => {
    const dir = join(__dirname, '../../../firmware-specs');
    const specs = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as { name: string; models?: string[] });
    // A spec without device-tree models (a generic U-Boot board) is recognized only through FLOTILLA_BOARD.
    const withModels = specs.filter((s) => (s.models ?? []).length > 0);
    expect(Object.fromEntries(withModels.map((s) => [s.name, s.models]))).toEqual(BOARD_MODELS);
  });

  it('matches device-tree models by their longest known prefix', () => {
    expect(boardForModel('Raspberry Pi 4 Model B Rev 1.5')).toBe('raspberrypi4-64');
    expect(boardForModel('Raspberry Pi 400 Rev 1.0')).toBe('raspberrypi4-64');
    expect(boardForModel('Raspberry Pi 5 Model B Rev 1.0')).toBe('raspberrypi5');
    expect(boardForModel('Raspberry Pi Compute Module 5 Rev 1.0')).toBe('raspberrypi5');
    expect(boardForModel('linux,dummy-virt')).toBe('qemu-arm64-virt');
    expect(boardForModel('Generic x86 PC')).toBeUndefined();
    expect(boardForModel(undefined)).toBeUndefined();
  });
});
