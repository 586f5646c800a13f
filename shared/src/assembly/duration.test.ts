import { parseByteSize, parseDuration } from './duration';

describe('durations and sizes', () => {
  it('parses Compose durations', () => {
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('1.5s')).toBeUndefined();
  });

  it('parses Compose byte sizes', () => {
    expect(parseByteSize('64m')).toBe(64 * 1024 ** 2);
    expect(parseByteSize('1gb')).toBe(1024 ** 3);
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize('lots')).toBeUndefined();
    expect(parseByteSize(-1)).toBeUndefined();
  });
});
