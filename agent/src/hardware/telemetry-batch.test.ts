import { TelemetryBatch } from './telemetry-batch';

// Unit: the bounded batch of samples waiting for the next telemetry message.
const sample = (n: number) => ({ at: new Date(n * 1000).toISOString(), cpuPercent: n, memUsedBytes: 1, memTotalBytes: 2 });

describe('TelemetryBatch', () => {
  it('hands over the samples waiting, oldest first, once', () => {
    const batch = new TelemetryBatch();
    expect(batch.take()).toBeNull();
    batch.add(sample(1));
    batch.add(sample(2));
    expect(batch.take()?.map((s) => s.cpuPercent)).toEqual([1, 2]);
    expect(batch.take()).toBeNull();
  });

  it('drops the oldest samples past its bound', () => {
    const batch = new TelemetryBatch(3);
    for (let n = 1; n <= 5; n++) batch.add(sample(n));
    expect(batch.take()?.map((s) => s.cpuPercent)).toEqual([3, 4, 5]);
  });
});
