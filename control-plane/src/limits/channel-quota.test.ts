import { ChannelQuotas } from './channel-quota';
import { DEFAULT_QUOTAS } from './device-limits';

const quotas = { ...DEFAULT_QUOTAS, events: { messagesPerMinute: 3, bytesPerMinute: 1000 } };

describe('ChannelQuotas', () => {
  it('accepts a minute’s worth at once, then refuses until the bucket refills', () => {
    const q = new ChannelQuotas(quotas);
    expect([1, 2, 3, 4].map(() => q.take('d1', 'events', 10, 0))).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, exceeded: 'messages' },
    ]);
    // One message's worth comes back every 20 s at 3 per minute.
    expect(q.take('d1', 'events', 10, 19_000)).toEqual({ ok: false, exceeded: 'messages' });
    expect(q.take('d1', 'events', 10, 20_000)).toEqual({ ok: true });
  });

  it('refuses by bytes, and a refused message takes nothing', () => {
    const q = new ChannelQuotas(quotas);
    expect(q.take('d1', 'events', 900, 0)).toEqual({ ok: true });
    expect(q.take('d1', 'events', 200, 0)).toEqual({ ok: false, exceeded: 'bytes' });
    expect(q.take('d1', 'events', 100, 0)).toEqual({ ok: true });
  });

  it('keeps devices and channels apart', () => {
    const q = new ChannelQuotas(quotas);
    for (let i = 0; i < 3; i++) q.take('d1', 'events', 1, 0);
    expect(q.take('d1', 'events', 1, 0).ok).toBe(false);
    expect(q.take('d2', 'events', 1, 0).ok).toBe(true);
    expect(q.take('d1', 'reported', 1, 0).ok).toBe(true);
  });

  it('sweeps only refilled buckets, so a device cannot reset its quota', () => {
    const q = new ChannelQuotas(quotas);
    for (let i = 0; i < 3; i++) q.take('d1', 'events', 1, 0);
    q.sweep(30_000);
    expect(q.size).toBe(1);
    expect(q.take('d1', 'events', 1, 30_000).ok).toBe(true);
    expect(q.take('d1', 'events', 1, 30_000).ok).toBe(false);
    q.sweep(120_000);
    expect(q.size).toBe(0);
  });
});
