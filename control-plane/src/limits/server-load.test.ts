import { busyReason } from './server-load';

describe('busyReason (when a connect is answered "server busy")', () => {
  const limits = { busyConnectsInFlight: 100, busyQueuedWrites: 1000 };

  it('serves below both thresholds', () => {
    expect(busyReason({ connectsInFlight: 99, queuedWrites: 999 }, limits)).toBeUndefined();
  });

  it('is busy at either threshold, and says which', () => {
    expect(busyReason({ connectsInFlight: 100, queuedWrites: 0 }, limits)).toMatch(/100 connects in flight/);
    expect(busyReason({ connectsInFlight: 0, queuedWrites: 1000 }, limits)).toMatch(/1000 device writes queued/);
  });

  it('never is with both limits off (0)', () => {
    expect(busyReason({ connectsInFlight: 1e6, queuedWrites: 1e6 }, { busyConnectsInFlight: 0, busyQueuedWrites: 0 })).toBeUndefined();
  });
});
