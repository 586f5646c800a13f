import { normalRequest, pickPlatform, platformOfMachine, platformRank, type Platform, type PlatformFields } from './platform';

// Unit: which manifest-list entry the engine pulls on a device (containerd's platforms.Only).
const entries = (...platforms: PlatformFields[]) => platforms.map((platform, i) => ({ digest: `d${i}`, platform }));
const device = (architecture: string, variant?: string): Platform => ({ os: 'linux', architecture, ...(variant ? { variant } : {}) });

describe('platform matching', () => {
  it('arm: the device variant first, then the older ones it runs, never a newer one', () => {
    const list = entries(
      { os: 'linux', architecture: 'arm', variant: 'v6' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { os: 'linux', architecture: 'arm', variant: 'v5' },
    );
    expect(pickPlatform(list, device('arm', 'v7'))?.digest).toBe('d1');
    expect(pickPlatform(list, device('arm', 'v6'))?.digest).toBe('d0');
    expect(pickPlatform(list.slice(1), device('arm', 'v6'))?.digest).toBe('d2');
    expect(pickPlatform(entries({ os: 'linux', architecture: 'arm', variant: 'v7' }), device('arm', 'v6'))).toBeUndefined();
    expect(pickPlatform(entries({ os: 'linux', architecture: 'arm', variant: 'v6' }), device('arm', 'v7'))?.digest).toBe('d0');
  });

  it('arm without a variant is v7, as the engine takes it; armhf and armel are v7 and v6', () => {
    expect(platformRank(device('arm', 'v7'), { os: 'linux', architecture: 'arm' })).toBe(0);
    expect(platformRank(device('arm', 'v6'), { os: 'linux', architecture: 'arm' })).toBeUndefined();
    expect(platformRank(device('arm', 'v7'), { os: 'linux', architecture: 'armhf' })).toBe(0);
    expect(platformRank(device('arm', 'v7'), { os: 'linux', architecture: 'armel' })).toBe(1);
  });

  it('arm64 takes variant v8 or none, not another variant, and not 32-bit arm', () => {
    expect(platformRank(device('arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(0);
    expect(platformRank(device('arm64'), { os: 'linux', architecture: 'arm64' })).toBe(0);
    expect(platformRank(device('arm64', 'v8'), { os: 'linux', architecture: 'arm64' })).toBe(0);
    expect(platformRank(device('arm64'), { os: 'linux', architecture: 'arm64', variant: 'v9' })).toBeUndefined();
    expect(platformRank(device('arm64'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBeUndefined();
  });

  it('the os must be the device one: a Windows or os-less entry (an attestation) is never picked', () => {
    const list = entries(
      { os: 'windows', architecture: 'amd64' },
      { os: 'unknown', architecture: 'unknown' },
      { architecture: 'amd64' },
      { os: 'linux', architecture: 'amd64' },
    );
    expect(pickPlatform(list, device('amd64'))?.digest).toBe('d3');
    expect(pickPlatform(list.slice(0, 3), device('amd64'))).toBeUndefined();
  });

  it('names the device from uname, and a delta request in one form per platform', () => {
    expect(platformOfMachine('armv7l')).toEqual(device('arm', 'v7'));
    expect(platformOfMachine('armv6l')).toEqual(device('arm', 'v6'));
    expect(platformOfMachine('aarch64')).toEqual(device('arm64'));
    expect(platformOfMachine('x64')).toEqual(device('amd64'));
    expect(['arm', 'arm/7', 'arm/v7'].map(normalRequest)).toEqual(['arm/v7', 'arm/v7', 'arm/v7']);
    expect(['arm64', 'arm64/v8', 'amd64', 'arm/v6'].map(normalRequest)).toEqual(['arm64', 'arm64', 'amd64', 'arm/v6']);
  });
});
