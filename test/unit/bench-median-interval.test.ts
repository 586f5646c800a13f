import { medianInterval } from '../bench/machine';

describe('medianInterval', () => {
  it('takes the 2nd smallest and 2nd largest of 9 values (96.1 %)', () => {
    const pairs = [1.87, 1.6, 1.31, 1.47, 1.61, 2.12, 1.71, 1.35, 1.28];
    const interval = medianInterval(pairs);
    expect([interval.low, interval.high]).toEqual([1.31, 1.87]);
    expect(interval.confidence).toBeCloseTo(1 - 2 * (10 / 512), 10);
  });

  it('narrows as values are added: the 6th smallest and largest of 20 (95.9 %)', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    const interval = medianInterval(values);
    expect([interval.low, interval.high]).toEqual([6, 15]);
    expect(interval.confidence).toBeGreaterThanOrEqual(0.95);
    // One step narrower would fall below 95 %.
    expect(interval.confidence - 2 * (38760 / 2 ** 20)).toBeLessThan(0.95);
  });

  it('gives the whole range of 3 values with its own confidence, 75 %', () => {
    expect(medianInterval([3, 1, 2])).toEqual({ low: 1, high: 3, confidence: 0.75 });
  });

  it('says nothing of the median from one value, or none', () => {
    expect(medianInterval([1.5])).toEqual({ low: 1.5, high: 1.5, confidence: 0 });
    expect(medianInterval([]).confidence).toBe(0);
  });
});
