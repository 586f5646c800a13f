import { parsePhase } from './phase-spec';

describe('parsePhase', () => {
  it('reads a count, a percentage, thresholds and the failure action', () => {
    expect(parsePhase('canary:1:abort')).toEqual({ name: 'canary', count: 1, onFailure: 'abort' });
    expect(parsePhase('rest:100%:success=95:failure=5')).toEqual({ name: 'rest', percent: 100, successThreshold: 95, failureThreshold: 5 });
  });

  it('refuses what it cannot read, saying how to write it', () => {
    expect(() => parsePhase('canary')).toThrow(/NAME:SIZE/);
    expect(() => parsePhase('canary:many')).toThrow(/device count/);
    expect(() => parsePhase('canary:1:explode')).toThrow(/unknown part/);
  });
});
