import { dayBounds, daysToEnsure, partitionDayOf, partitionTable, planPartitions } from './telemetry-partitions';

describe('planPartitions (unit)', () => {
  const now = new Date('2026-12-05T13:00:00Z');

  it('creates today and the days ahead that are missing, oldest first', () => {
    expect(planPartitions(['2026-12-05', '2026-12-07'], now, 3, 30).create).toEqual(['2026-12-06', '2026-12-08']);
  });

  it('drops only days wholly older than the retention period', () => {
    // Cutoff 2026-11-28T13:00Z: the 27th ended before it, the 28th did not.
    const plan = planPartitions(['2026-11-28', '2026-11-26', '2026-11-27', '2026-12-05'], now, 0, 7);
    expect(plan.drop).toEqual(['2026-11-26', '2026-11-27']);
    expect(plan.cutoff.toISOString()).toBe('2026-11-28T13:00:00.000Z');
  });

  it('names tables by day and reads the day back, ignoring the default partition', () => {
    expect(partitionTable('2026-12-05')).toBe('telemetry_samples_p20261205');
    expect(partitionDayOf('telemetry_samples_p20261205')).toBe('2026-12-05');
    expect(partitionDayOf('telemetry_samples_default')).toBeNull();
    expect(dayBounds('2026-12-31')).toEqual({ from: '2026-12-31T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' });
  });
});

describe('daysToEnsure (unit)', () => {
  const now = new Date('2026-12-05T23:59:00Z');

  it('the days of a batch from yesterday to the days ahead that are not known to have a partition, once each', () => {
    const ats = [
      '2026-12-05T23:59:59.999Z',
      '2026-12-06T00:00:00.000Z',
      '2026-12-06T01:00:00+02:00',
      '2026-12-04T12:00:00Z',
      '2026-12-07T00:00:00Z',
    ];
    expect(daysToEnsure(ats, new Set(['2026-12-05']), now, 1)).toEqual(['2026-12-04', '2026-12-06']);
  });

  it('leaves days further off to the default partition', () => {
    expect(daysToEnsure(['2026-12-03T23:59:59Z', '2027-06-01T00:00:00Z', '1970-01-01T00:00:00Z'], new Set(), now, 3)).toEqual([]);
  });
});
