import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Inventory, Telemetry } from '@flotilla/shared';
import { collectInventory } from './inventory';
import type { SystemInfo } from './system-info';
import { sampleTelemetry } from './telemetry';

let root: string;
const now = () => new Date('2026-11-27T12:00:00Z');

function fakeSystemInfo(overrides: { system?: object; cpuTemperature?: number | null } = {}): SystemInfo {
  const fake = {
    cpu: async () => ({ manufacturer: 'ARM', brand: 'Cortex-A72', cores: 4, speed: 1.8 }),
    mem: async () => ({ total: 4_000_000_000, active: 1_000_000_000 }),
    osInfo: async () => ({ hostname: 'pi-kiosk-1', arch: 'arm64', distro: 'Debian GNU/Linux', release: '12', kernel: '6.6.51+rpt-rpi-v8' }),
    fsSize: async () => [
      { fs: '/dev/mmcblk0p2', type: 'ext4', mount: '/', size: 30e9, used: 4e9 },
      { fs: 'overlay', type: 'overlay', mount: '/var/lib/docker/overlay2/x/merged', size: 30e9, used: 4e9 },
    ],
    networkInterfaces: async () => [
      { iface: 'lo', mac: '00:00:00:00:00:00', ip4: '127.0.0.1', ip6: '::1', internal: true, virtual: false },
      { iface: 'eth0', mac: 'dc:a6:32:01:02:03', ip4: '192.168.1.20', ip6: '', internal: false, virtual: false },
      { iface: 'veth1', mac: '02:42:ac:11:00:02', ip4: '', ip6: '', internal: false, virtual: true },
    ],
    cpuTemperature: async () => ({ main: overrides.cpuTemperature ?? null }),
    system: async () => ({ manufacturer: '', model: '', serial: '', ...overrides.system }),
    currentLoad: async () => ({ currentLoad: 12.345 }),
  };
  return fake as unknown as SystemInfo;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flotilla-inventory-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}

describe('collectInventory', () => {
  it('describes a Raspberry Pi from its device tree, vcgencmd and thermal zones', async () => {
    await put('proc/device-tree/model', 'Raspberry Pi 4 Model B Rev 1.5\0');
    await put('proc/device-tree/serial-number', '10000000a1b2c3d4\0');
    await put('sys/class/thermal/thermal_zone0/temp', '51000');
    const inventory = await collectInventory({ root, si: fakeSystemInfo(), run: async () => 'throttled=0x50005', now });
    expect(Inventory.parse(inventory)).toEqual(inventory);
    expect(inventory).toMatchObject({
      hostname: 'pi-kiosk-1',
      arch: 'arm64',
      board: { model: 'Raspberry Pi 4 Model B Rev 1.5', serial: '10000000a1b2c3d4' },
      disks: [{ mount: '/', fs: 'ext4', sizeBytes: 30e9, usedBytes: 4e9 }],
      network: [{ iface: 'eth0', mac: 'dc:a6:32:01:02:03', ip4: '192.168.1.20' }],
      temperatures: [{ zone: 'thermal_zone0', celsius: 51 }],
      throttled: { raw: '0x50005', underVoltage: true, throttled: true },
    });
  });

  it('falls back to the DMI manufacturer and model on x86, and omits throttling', async () => {
    const inventory = await collectInventory({
      root,
      si: fakeSystemInfo({ system: { manufacturer: 'QEMU', model: 'Standard PC (Q35)', serial: '-' }, cpuTemperature: 40 }),
      run: async () => Promise.reject(new Error('ENOENT')),
      now,
    });
    expect(Inventory.parse(inventory)).toEqual(inventory);
    expect(inventory.board).toEqual({ model: 'QEMU Standard PC (Q35)' });
    expect(inventory.temperatures).toEqual([{ zone: 'cpu', celsius: 40 }]);
    expect(inventory).not.toHaveProperty('throttled');
  });

  it("says 'unknown' when nothing names the board", async () => {
    const inventory = await collectInventory({ root, si: fakeSystemInfo(), run: async () => '', now });
    expect(inventory.board.model).toBe('unknown');
  });
});

describe('sampleTelemetry', () => {
  it('takes one schema-valid sample with processes memory and the first thermal zone', async () => {
    await put('sys/class/thermal/thermal_zone0/temp', '47500');
    const sample = await sampleTelemetry({ root, si: fakeSystemInfo(), now });
    expect(sample).toEqual({ at: '2026-11-27T12:00:00.000Z', cpuPercent: 12.3, memUsedBytes: 1e9, memTotalBytes: 4e9, temperatureC: 47.5 });
    expect(() => Telemetry.parse({ schema: 1, samples: [sample] })).not.toThrow();
  });

  it('omits the temperature when the machine reports none', async () => {
    expect(await sampleTelemetry({ root, si: fakeSystemInfo(), now })).not.toHaveProperty('temperatureC');
  });
});
