import { decodeCursor, encodeCursor } from './cursor';

describe('cursor', () => {
  it('round-trips a position and refuses anything else', () => {
    expect(decodeCursor(encodeCursor(['2026-11-27T12:00:00.000Z', 'abc']), 2)).toEqual(['2026-11-27T12:00:00.000Z', 'abc']);
    expect(decodeCursor(undefined, 2)).toBeUndefined();
    expect(() => decodeCursor('not-a-cursor', 2)).toThrow('the cursor is not one this list returned');
    expect(() => decodeCursor(encodeCursor([1]), 2)).toThrow();
  });
});
