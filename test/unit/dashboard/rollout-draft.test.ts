import { DEFAULT_PHASES, rolloutRequest, splitList } from '../../../control-plane/dashboard/src/pages/rollouts/rollout-draft';

// Unit: the dashboard's new-rollout form turned into the API's request body.
const draft = {
  releaseId: 'r1',
  name: '',
  fleetId: '',
  tags: '',
  deviceIds: '',
  phases: DEFAULT_PHASES,
  advance: 'auto' as const,
  timeout: '1800',
};

describe('rolloutRequest', () => {
  it('leaves empty fields out, so the API applies its defaults', () => {
    expect(rolloutRequest(draft)).toEqual({
      releaseId: 'r1',
      selection: {},
      phases: [
        { name: 'canary', count: 1, successThreshold: 100, failureThreshold: 0, onFailure: 'abort' },
        { name: 'everyone', percent: 100, successThreshold: 95, failureThreshold: 5, onFailure: 'pause' },
      ],
      advance: 'auto',
      deviceTimeoutSeconds: 1800,
    });
  });

  it('trims the name, combines the selection criteria and names a phase only when it has a name', () => {
    const body = rolloutRequest({
      ...draft,
      name: ' spring ',
      fleetId: 'f1',
      tags: 'lab, eu',
      deviceIds: 'd1 d2,,d3',
      phases: [{ ...DEFAULT_PHASES[0]!, name: '  ' }],
    });
    expect(body).toMatchObject({ name: 'spring', selection: { fleetId: 'f1', tags: ['lab', 'eu'], deviceIds: ['d1', 'd2', 'd3'] } });
    expect(body.phases[0]).not.toHaveProperty('name');
  });
});

describe('splitList', () => {
  it('splits on commas and white space, dropping empty entries', () => {
    expect(splitList(' a,b  c,\n,d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(splitList('  ')).toEqual([]);
  });
});
