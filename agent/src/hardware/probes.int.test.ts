import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseThrottled, readBoardModel, readBoardRevision, readSerialNumber, readThermalZones, readThrottling } from './probes';

let root: string;

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flotilla-probes-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('board probes on a Raspberry Pi tree', () => {
  beforeEach(async () => {
    await put('proc/device-tree/model', 'Raspberry Pi 4 Model B Rev 1.5\0');
    await put('proc/device-tree/serial-number', '10000000a1b2c3d4\0');
    await put(
      'proc/cpuinfo',
      'processor\t: 0\nHardware\t: BCM2835\nRevision\t: d03115\nSerial\t\t: 10000000a1b2c3d4\nModel\t\t: Raspberry Pi 4 Model B Rev 1.5\n',
    );
    await put('sys/class/thermal/thermal_zone0/temp', '48686\n');
    await put('sys/class/thermal/thermal_zone0/type', 'cpu-thermal\n');
  });

  it('reads the model without the trailing NUL', async () => {
    expect(await readBoardModel(root)).toBe('Raspberry Pi 4 Model B Rev 1.5');
  });

  it('reads the serial number and the revision code', async () => {
    expect(await readSerialNumber(root)).toBe('10000000a1b2c3d4');
    expect(await readBoardRevision(root)).toBe('d03115');
  });

  it('reads thermal zones in millidegrees and names them by type', async () => {
    expect(await readThermalZones(root)).toEqual([{ zone: 'cpu-thermal', celsius: 48.686 }]);
  });
});

describe('board probes elsewhere', () => {
  it('returns nothing on a tree without device tree, cpuinfo or thermal zones', async () => {
    expect(await readBoardModel(root)).toBeUndefined();
    expect(await readSerialNumber(root)).toBeUndefined();
    expect(await readBoardRevision(root)).toBeUndefined();
    expect(await readThermalZones(root)).toEqual([]);
  });

  it('names a device tree without a model by its first compatible string (QEMU virt)', async () => {
    await put('proc/device-tree/compatible', 'linux,dummy-virt\0');
    expect(await readBoardModel(root)).toBe('linux,dummy-virt');
  });

  it('falls back to the cpuinfo serial when the device tree has none', async () => {
    await put('proc/cpuinfo', 'Serial\t\t: 00000000deadbeef\n');
    expect(await readSerialNumber(root)).toBe('00000000deadbeef');
  });

  it('orders zones numerically, names untyped ones by directory, skips unreadable ones', async () => {
    await put('sys/class/thermal/thermal_zone10/temp', '30000');
    await put('sys/class/thermal/thermal_zone2/temp', '25500');
    await put('sys/class/thermal/thermal_zone3/temp', 'garbage');
    await put('sys/class/thermal/cooling_device0/cur_state', '0');
    expect(await readThermalZones(root)).toEqual([
      { zone: 'thermal_zone2', celsius: 25.5 },
      { zone: 'thermal_zone10', celsius: 30 },
    ]);
  });

  it('treats an empty model file as no model', async () => {
    await put('proc/device-tree/model', '\0');
    expect(await readBoardModel(root)).toBeUndefined();
  });
});

describe('vcgencmd get_throttled', () => {
  it('decodes under-voltage (bit 0) and throttling (bit 2) happening now', () => {
    expect(parseThrottled('throttled=0x50005\n')).toEqual({ raw: '0x50005', underVoltage: true, throttled: true });
    expect(parseThrottled('throttled=0x50000\n')).toEqual({ raw: '0x50000', underVoltage: false, throttled: false });
    expect(parseThrottled('throttled=0x4')).toEqual({ raw: '0x4', underVoltage: false, throttled: true });
  });

  it('returns nothing for output it does not understand', () => {
    expect(parseThrottled('error=1 error_msg="Command not registered"')).toBeUndefined();
  });

  it('is absent when vcgencmd cannot run', async () => {
    expect(
      await readThrottling(async () => Promise.reject(Object.assign(new Error('spawn vcgencmd ENOENT'), { code: 'ENOENT' }))),
    ).toBeUndefined();
    expect(await readThrottling(async () => 'throttled=0x1\n')).toEqual({ raw: '0x1', underVoltage: true, throttled: false });
  });
});
