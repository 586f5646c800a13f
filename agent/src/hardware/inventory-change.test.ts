import type { Inventory } from '@flotilla/shared';
import { inventoryFingerprint } from './inventory-change';

const base: Inventory = {
  schema: 1,
  at: '2026-11-27T10:00:00.000Z',
  hostname: 'pi',
  arch: 'arm64',
  board: { model: 'Raspberry Pi 5 Model B Rev 1.0' },
  cpu: { manufacturer: 'ARM', brand: 'Cortex-A76', cores: 4 },
  memory: { totalBytes: 8e9 },
  os: { distro: 'Debian', release: '12', kernel: '6.6.51' },
  disks: [{ mount: '/', fs: 'ext4', sizeBytes: 100e9, usedBytes: 40e9 }],
  network: [{ iface: 'eth0', mac: '02:00:00:00:00:01', ip4: '192.0.2.10' }],
  temperatures: [{ zone: 'cpu', celsius: 51 }],
};

describe('inventoryFingerprint', () => {
  it('ignores the collection time, temperatures and small changes of disk usage', () => {
    const later = { ...base, at: '2026-11-27T10:10:00.000Z', temperatures: [{ zone: 'cpu', celsius: 63 }] };
    later.disks = [{ ...base.disks[0]!, usedBytes: 41e9 }];
    expect(inventoryFingerprint(later)).toBe(inventoryFingerprint(base));
  });

  it('changes with addresses, the kernel, power flags and disk usage past a 5 % step', () => {
    const fp = inventoryFingerprint(base);
    expect(inventoryFingerprint({ ...base, network: [{ ...base.network[0]!, ip4: '192.0.2.11' }] })).not.toBe(fp);
    expect(inventoryFingerprint({ ...base, os: { ...base.os, kernel: '6.6.62' } })).not.toBe(fp);
    expect(inventoryFingerprint({ ...base, throttled: { raw: '0x50005', underVoltage: true, throttled: true } })).not.toBe(fp);
    expect(inventoryFingerprint({ ...base, disks: [{ ...base.disks[0]!, usedBytes: 48e9 }] })).not.toBe(fp);
  });
});
