import { PhasePlacementError, placeDevices } from './place-devices';

const spec = (over: object) => ({ successThreshold: 100, failureThreshold: 0, onFailure: 'pause' as const, ...over });
const ids = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}`);

function sizes(placement: Map<string, number>, phases: number): number[] {
  const out = new Array<number>(phases).fill(0);
  for (const p of placement.values()) out[p]!++;
  return out;
}

describe('placeDevices', () => {
  it('a canary count, then cumulative percentages, the last phase takes the rest', () => {
    const placement = placeDevices(ids, [spec({ count: 1 }), spec({ percent: 25 }), spec({ percent: 50 }), spec({ percent: 60 })]);
    expect(sizes(placement, 4)).toEqual([1, 4, 5, 10]);
    expect(placement.get('d00')).toBe(0);
  });

  it('explicit groups take their devices first', () => {
    const placement = placeDevices(ids, [spec({ deviceIds: ['d19', 'd18'] }), spec({ count: 3 }), spec({})]);
    expect(placement.get('d19')).toBe(0);
    expect(placement.get('d00')).toBe(1);
    expect(sizes(placement, 3)).toEqual([2, 3, 15]);
  });

  it('phases beyond the devices are empty; devices not placed by explicit last phase join it', () => {
    expect(sizes(placeDevices(['a', 'b'], [spec({ count: 5 }), spec({ percent: 50 }), spec({})]), 3)).toEqual([2, 0, 0]);
    expect(sizes(placeDevices(['a', 'b', 'c'], [spec({ count: 1 }), spec({ deviceIds: ['c'] })]), 2)).toEqual([1, 2]);
  });

  it('refuses devices outside the selection or in two groups', () => {
    expect(() => placeDevices(['a'], [spec({ deviceIds: ['zz'] })])).toThrow(PhasePlacementError);
    expect(() => placeDevices(['a', 'b'], [spec({ deviceIds: ['a'] }), spec({ deviceIds: ['a'] })])).toThrow('listed in two phases');
  });
});
