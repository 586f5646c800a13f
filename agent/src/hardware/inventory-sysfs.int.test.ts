import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Inventory, Telemetry } from '@flotilla/shared';
import { collectInventory } from './inventory';
import { procSystemInfo, type SystemInfo } from './system-info';
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

describe('procSystemInfo (the kernel files of a board, under a scratch root)', () => {
  it('reads CPU, memory, OS, DMI and busy time from /proc, /sys and /etc', async () => {
    await put(
      'proc/cpuinfo',
      'processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\nCPU part\t: 0xd08\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.5\n',
    );
    await put('sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq', '1800000\n');
    await put('proc/meminfo', 'MemTotal:        3885316 kB\nMemFree:          123456 kB\nMemAvailable:    2885316 kB\n');
    await put('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n');
    await put('sys/class/dmi/id/sys_vendor', 'QEMU\n');
    await put('sys/class/dmi/id/product_name', 'Standard PC (Q35)\n');
    await put('sys/class/hwmon/hwmon0/name', 'k10temp\n');
    await put('sys/class/hwmon/hwmon0/temp1_input', '43250\n');
    const si = procSystemInfo(root);
    expect(await si.cpu()).toMatchObject({ manufacturer: 'ARM', brand: 'Raspberry Pi 4 Model B Rev 1.5', speed: 1.8 });
    expect(await si.mem()).toEqual({ total: 3885316 * 1024, active: 1_000_000 * 1024 });
    expect(await si.osInfo()).toMatchObject({ distro: 'Debian GNU/Linux', release: '12' });
    expect(await si.system()).toEqual({ manufacturer: 'QEMU', model: 'Standard PC (Q35)', serial: '' });
    expect(await si.cpuTemperature()).toEqual({ main: 43.25 });

    await put('proc/stat', 'cpu  100 0 100 700 100 0 0 0 0 0\n');
    await si.currentLoad();
    await put('proc/stat', 'cpu  130 0 120 740 110 0 0 0 0 0\n');
    // 100 ticks passed, 50 of them busy (user + system), 50 idle or waiting on I/O.
    expect(await si.currentLoad()).toEqual({ currentLoad: 50 });
  });

  it('reads the mounted file systems from /proc/mounts, leaving out kernel and memory ones', async () => {
    await put('proc/mounts', `/dev/root ${root} ext4 rw 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n`);
    const disks = await procSystemInfo(root).fsSize();
    expect(disks).toEqual([{ fs: '/dev/root', type: 'ext4', mount: root, size: expect.any(Number), used: expect.any(Number) }]);
    expect(disks[0]!.size).toBeGreaterThan(0);
  });
});
