import { copyLine, refusal, type SampleRow } from './telemetry-copy';

const row = (over: Partial<SampleRow> = {}): SampleRow => ({
  deviceId: 'dev_a',
  at: '2026-12-05T10:00:00.123Z',
  cpuPercent: 12.5,
  memUsedBytes: 1_000.4,
  memTotalBytes: 8_000,
  temperatureC: null,
  ...over,
});

describe('refusal (unit)', () => {
  it('passes what the telemetry table stores', () => {
    expect(refusal(row())).toBeNull();
    expect(refusal(row({ at: '2026-12-05T11:00:00+01:00', temperatureC: -10, memUsedBytes: 2 ** 62 }))).toBeNull();
  });

  it('names the value the database would refuse, one field at a time', () => {
    expect(refusal(row({ memUsedBytes: 2 ** 64 }))).toMatch(/^memUsedBytes .* out of range for type bigint$/);
    expect(refusal(row({ memTotalBytes: 2 ** 63 }))).toMatch(/^memTotalBytes/);
    expect(refusal(row({ cpuPercent: NaN }))).toMatch(/^cpuPercent/);
    expect(refusal(row({ temperatureC: Infinity }))).toMatch(/^temperatureC/);
    for (const at of [
      'yesterday',
      '1969-12-31T23:59:59Z',
      '+010000-01-01T00:00:00Z',
      '2026-12-05T11:00:00+16:00',
      '2026-12-05T11:00:00.1234567Z',
    ])
      expect(refusal(row({ at }))).toMatch(/^at /);
  });
});

describe('copyLine (unit)', () => {
  it('writes COPY text format: tab-separated, byte counts rounded, \\N for a missing temperature', () => {
    expect(copyLine({ ...row(), id: '42' })).toBe('42\tdev_a\t2026-12-05T10:00:00.123Z\t12.5\t1000\t8000\t\\N\n');
    expect(copyLine({ ...row({ temperatureC: 41.5 }), id: '1' })).toMatch(/\t41\.5\n$/);
  });

  it("escapes COPY's own characters, so that no value can end a field or a line", () => {
    expect(copyLine({ ...row({ deviceId: 'a\tb\\c\nd\re' }), id: '1' }).split('\t')[1]).toBe('a\\tb\\\\c\\nd\\re');
  });
});
