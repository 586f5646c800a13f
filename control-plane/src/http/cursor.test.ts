import { decodeCursor, encodeCursor } from './cursor';

const UUID = '00000000-0000-4000-8000-000000000000';

describe('cursor', () => {
  it('round-trips a position and refuses anything else', () => {
    expect(decodeCursor(encodeCursor(['2026-11-27T12:00:00.123456Z', UUID]), ['timestamp', 'uuid'])).toEqual([
      '2026-11-27T12:00:00.123456Z',
      UUID,
    ]);
    expect(decodeCursor(undefined, ['uuid'])).toBeUndefined();
    expect(() => decodeCursor('not-a-cursor', ['uuid'])).toThrow('the cursor is not one this list returned');
    expect(() => decodeCursor(encodeCursor([UUID]), ['timestamp', 'uuid'])).toThrow();
  });

  it('refuses every value its column could not hold', () => {
    const refused: [string, unknown][] = [
      ['timestamp', 'yesterday'],
      ['timestamp', '1'],
      ['timestamp', '2026-13-45T00:00:00Z'],
      ['timestamp', 1_700_000_000],
      ['uuid', 'x'],
      ['deviceId', 'no spaces allowed'],
      ['deviceId', 'a'.repeat(65)],
      ['bigint', 'abc'],
      ['bigint', '9223372036854775808'],
      ['bigint', 12],
    ];
    for (const [field, v] of refused) {
      expect([field, v, () => decodeCursor(encodeCursor([v as string]), [field as 'uuid'])]).toEqual([field, v, expect.any(Function)]);
      expect(() => decodeCursor(encodeCursor([v as string]), [field as 'uuid'])).toThrow('the cursor is not one this list returned');
    }
    expect(decodeCursor(encodeCursor(['9223372036854775807']), ['bigint'])).toEqual(['9223372036854775807']);
    expect(decodeCursor(encodeCursor(['dev_a-1']), ['deviceId'])).toEqual(['dev_a-1']);
  });
});
