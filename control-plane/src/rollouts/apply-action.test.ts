import { applyAction, applyActions, applyDecision, segments, type Assignments } from './apply-action';
import { pendingDevice, type RolloutAction, type RolloutDevice, type RolloutState } from './rollout-state';

const NOW = 1_000_000;

function pending(deviceId: string): RolloutDevice {
  return pendingDevice(deviceId, 0);
}

function rollout(devices: RolloutDevice[]): RolloutState {
  return {
    id: 'r1',
    releaseId: 'rel-target',
    status: 'running',
    statusReason: null,
    advance: 'auto',
    currentPhase: 0,
    deviceTimeoutMs: 60_000,
    force: false,
    phases: [{ name: 'all', successThreshold: 100, failureThreshold: 50, onFailure: 'pause' }],
    devices,
  };
}

const assign = (deviceId: string): RolloutAction => ({ kind: 'assign', deviceId, previousReleaseId: 'rel-old' });

describe('applyDecision', () => {
  it('gives each assigned device the rev the one statement returned for it, in the order of the actions', () => {
    const assignments: Assignments = {
      revs: new Map([
        ['a', 7],
        ['b', 3],
      ]),
      refused: null,
    };
    const after = applyDecision(
      rollout([pending('a'), pending('b')]),
      [assign('a'), { kind: 'join', deviceId: 'c', phase: 0 }, assign('b')],
      NOW,
      assignments,
    );
    expect(after.devices.map((d) => [d.deviceId, d.state, d.assignedRev, d.assignedAt, d.previousReleaseId])).toEqual([
      ['a', 'updating', 7, NOW, 'rel-old'],
      ['b', 'updating', 3, NOW, 'rel-old'],
      ['c', 'pending', null, null, null],
    ]);
  });

  it('fails a device the statement did not assign (unknown or decommissioned), and only that one', () => {
    const after = applyDecision(rollout([pending('a'), pending('gone')]), [assign('a'), assign('gone')], NOW, {
      revs: new Map([['a', 2]]),
      refused: null,
    });
    expect(after.devices.find((d) => d.deviceId === 'a')).toMatchObject({ state: 'updating', assignedRev: 2 });
    expect(after.devices.find((d) => d.deviceId === 'gone')).toMatchObject({
      state: 'failed',
      finishedAt: NOW,
      reason: 'assignment failed: no device with id gone, or it was decommissioned',
    });
  });

  it('fails every device of the decision with the reason when the assignment as a whole was refused', () => {
    const after = applyDecision(rollout([pending('a'), pending('b')]), [assign('a'), assign('b')], NOW, {
      revs: new Map(),
      refused: 'no release with id rel-target',
    });
    expect(after.devices.map((d) => [d.state, d.reason])).toEqual([
      ['failed', 'assignment failed: no release with id rel-target'],
      ['failed', 'assignment failed: no release with id rel-target'],
    ]);
  });
});

describe('applyActions', () => {
  it('ends where applying the actions one by one ends: devices changed in place, joiners last, dropped ones gone', () => {
    const state = rollout([pending('a'), pending('b'), pending('c'), { ...pending('d'), state: 'updating', assignedRev: 4 }]);
    const actions: RolloutAction[] = [
      { kind: 'succeed', deviceId: 'd', reason: null },
      { kind: 'join', deviceId: 'e', phase: 0 },
      assign('a'),
      { kind: 'drop', deviceId: 'b' },
      assign('e'),
      { kind: 'fail', deviceId: 'c', reason: 'broken' },
      { kind: 'advance', toPhase: 1 },
      { kind: 'wait', reason: 'manual' },
    ];
    const revs = new Map([
      ['a', 8],
      ['e', 1],
    ]);
    const oneByOne = actions.reduce((s, a) => applyAction(s, a, NOW, a.kind === 'assign' ? (revs.get(a.deviceId) ?? null) : null), state);
    expect(applyActions(state, actions, NOW, revs)).toEqual(oneByOne);
    expect(oneByOne.devices.map((d) => [d.deviceId, d.state, d.assignedRev])).toEqual([
      ['a', 'updating', 8],
      ['c', 'failed', null],
      ['d', 'succeeded', 4],
      ['e', 'updating', 1],
    ]);
  });
});

describe('segments', () => {
  const actions: RolloutAction[] = [
    { kind: 'succeed', deviceId: 'd', reason: null },
    { kind: 'join', deviceId: 'e', phase: 0 },
    assign('a'),
    { kind: 'drop', deviceId: 'b' },
    assign('e'),
    assign('c'),
    { kind: 'advance', toPhase: 1 },
  ];

  it('cuts a decision in order, at most `max` assignments a part, every action once', () => {
    const parts = segments(actions, 2);
    expect(parts).toEqual([actions.slice(0, 5), actions.slice(5)]);
    expect(segments(actions, 10)).toEqual([actions]);
    expect(segments([], 2)).toEqual([[]]);
  });

  it('from `first` assignments, doubling up to `max`', () => {
    const many = Array.from({ length: 20 }, (_, i) => assign(`d${i}`));
    expect(segments(many, 8, 2).map((p) => p.length)).toEqual([2, 4, 8, 6]);
    expect(segments(many, 8, 8).map((p) => p.length)).toEqual([8, 8, 4]);
    expect(segments(actions, 10, 1)).toEqual([actions.slice(0, 4), actions.slice(4)]);
  });

  it('applied part by part (one transaction each), ends where applying the decision whole ends', () => {
    const state = rollout([pending('a'), pending('b'), pending('c'), { ...pending('d'), state: 'updating', assignedRev: 4 }]);
    const revs = new Map([
      ['a', 8],
      ['e', 1],
      ['c', 3],
    ]);
    const of = (part: readonly RolloutAction[]): Assignments => ({
      revs: new Map(part.flatMap((a) => (a.kind === 'assign' ? [[a.deviceId, revs.get(a.deviceId)!] as const] : []))),
      refused: null,
    });
    const whole = applyDecision(state, actions, NOW, of(actions));
    for (const [max, first] of [
      [1, 1],
      [2, 2],
      [3, 3],
      [3, 1],
    ] as const) {
      expect(segments(actions, max, first).reduce((s, part) => applyDecision(s, part, NOW, of(part)), state)).toEqual(whole);
    }
  });
});
