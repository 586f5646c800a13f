import { ConnectGuard } from './connect-guard';

const limits = { maxConnectionsPerAddress: 2, failedConnectsPerSecond: 1, failedConnectsBurst: 3, unknownIdCacheMs: 10_000 };

describe('ConnectGuard', () => {
  it('caps open connections per address, and frees a place on close', () => {
    const g = new ConnectGuard(limits);
    expect([g.opened('a'), g.opened('a'), g.opened('a'), g.opened('b')]).toEqual([true, true, false, true]);
    g.closed('a');
    expect(g.opened('a')).toBe(true);
    expect(new ConnectGuard({ ...limits, maxConnectionsPerAddress: 0 }).opened('a')).toBe(true);
  });

  it('throttles an address after a burst of failed logins, and lets it try again as the bucket refills', () => {
    const g = new ConnectGuard(limits);
    for (let i = 0; i < 3; i++) {
      expect(g.precheck(`d${i}`, 'a', 0)).toBeUndefined();
      g.failed('a', 0);
    }
    expect(g.precheck('d9', 'a', 0)).toBe('throttled');
    expect(g.precheck('d9', 'b', 0)).toBeUndefined();
    expect(g.precheck('d9', 'a', 999)).toBe('throttled');
    expect(g.precheck('d9', 'a', 1000)).toBeUndefined();
  });

  it('remembers unknown ids for a while, never a wrong password', () => {
    const g = new ConnectGuard(limits);
    g.failed('a', 0, 'ghost');
    g.failed('a', 0);
    expect(g.precheck('ghost', 'b', 9_999)).toBe('unknown-id');
    expect(g.precheck('ghost', 'b', 10_000)).toBeUndefined();
  });

  it('sweeps refilled buckets and expired ids', () => {
    const g = new ConnectGuard(limits);
    g.failed('a', 0, 'ghost');
    g.sweep(500);
    expect(g.tracked).toEqual({ addresses: 0, failingAddresses: 1, unknownIds: 1 });
    g.sweep(10_000);
    expect(g.tracked).toEqual({ addresses: 0, failingAddresses: 0, unknownIds: 0 });
  });
});
