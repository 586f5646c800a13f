import { busyReason } from './server-load';

describe('busyReason (when a connect is answered "server busy")', () => {
  const limits = { busyConnectsInFlight: 100, busyQueuedWrites: 1000, busyWriteLagMs: 5000 };

  it('serves below every threshold', () => {
    expect(busyReason({ connectsInFlight: 99, queuedWrites: 999, writeLagMs: 4999 }, limits)).toBeUndefined();
  });

  it('is busy at any threshold, and says which', () => {
    expect(busyReason({ connectsInFlight: 100, queuedWrites: 0, writeLagMs: 0 }, limits)).toMatch(/100 connects in flight/);
    expect(busyReason({ connectsInFlight: 0, queuedWrites: 1000, writeLagMs: 0 }, limits)).toMatch(/1000 device writes queued/);
    expect(busyReason({ connectsInFlight: 0, queuedWrites: 1, writeLagMs: 5000 }, limits)).toMatch(
      /device writes 5.0 s behind \(limit 5 s\)/,
    );
  });

  it('never is with every limit off (0)', () => {
    const off = { busyConnectsInFlight: 0, busyQueuedWrites: 0, busyWriteLagMs: 0 };
    expect(busyReason({ connectsInFlight: 1e6, queuedWrites: 1e6, writeLagMs: 1e6 }, off)).toBeUndefined();
  });
});
