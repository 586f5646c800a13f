import { effectiveConfig } from './device-config';

describe('effectiveConfig', () => {
  it('lays the device overrides over the fleet configuration', () => {
    expect(effectiveConfig({ LOG: 'info', SITE: 'north' }, { LOG: 'debug', EXTRA: '1' })).toEqual({
      EXTRA: '1',
      LOG: 'debug',
      SITE: 'north',
    });
  });

  it('works without a fleet or without overrides', () => {
    expect(effectiveConfig(null, { A: '1' })).toEqual({ A: '1' });
    expect(effectiveConfig({ A: '1' }, undefined)).toEqual({ A: '1' });
    expect(effectiveConfig(null, null)).toEqual({});
  });

  it('sorts keys so the same configuration always serializes the same', () => {
    expect(Object.keys(effectiveConfig({ B: '1', A: '2' }, { C: '3' }))).toEqual(['A', 'B', 'C']);
  });
});
