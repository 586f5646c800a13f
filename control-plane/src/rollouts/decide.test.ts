import type { UpdateStatus } from '@flotilla/shared';
import { applyActions } from './apply-action';
import { decide } from './decide';
import { pendingDevice, type DeviceReport, type RolloutDevice, type RolloutPhase, type RolloutState } from './rollout-state';

const TARGET = 'rel-target';
const OLD = 'rel-old';
const NOW = 1_000_000;

function phase(over: Partial<RolloutPhase> = {}): RolloutPhase {
  return { name: 'p', successThreshold: 100, failureThreshold: 0, onFailure: 'pause', ...over };
}

function device(id: string, phaseIndex: number, over: Partial<RolloutDevice> = {}): RolloutDevice {
  return { ...pendingDevice(id, phaseIndex), ...over };
}

function updating(id: string, phaseIndex: number, rev = 2, assignedAt = NOW - 1000): RolloutDevice {
  return device(id, phaseIndex, { state: 'updating', assignedRev: rev, assignedAt, previousReleaseId: OLD });
}

function rollout(phases: RolloutPhase[], devices: RolloutDevice[], over: Partial<RolloutState> = {}): RolloutState {
  return {
    id: 'r1',
    releaseId: TARGET,
    status: 'running',
    statusReason: null,
    advance: 'auto',
    currentPhase: 0,
    deviceTimeoutMs: 60_000,
    force: false,
    phases,
    devices,
    ...over,
  };
}

function update(over: Partial<UpdateStatus> = {}): UpdateStatus {
  return {
    phase: 'idle',
    active: { rev: 1, releaseId: OLD, version: '1.0.0' },
    candidate: null,
    failedRev: null,
    lastFailure: null,
    ...over,
  };
}

/** A device's report: on the old release, as told, unless overridden. */
function report(id: string, over: Partial<DeviceReport> = {}): DeviceReport {
  return {
    deviceId: id,
    inSelection: true,
    desiredRev: 1,
    desiredReleaseId: OLD,
    reportedRev: 1,
    update: update(),
    rolledBackRev: null,
    rolledBackReason: null,
    ...over,
  };
}
const committed = (id: string, rev = 2) =>
  report(id, { desiredRev: rev, desiredReleaseId: TARGET, update: update({ active: { rev, releaseId: TARGET, version: '2.0.0' } }) });
const rolledBack = (id: string, rev = 2, why = 'health check of web failed: exit 1') =>
  report(id, { desiredRev: rev, desiredReleaseId: TARGET, update: update({ failedRev: rev, lastFailure: why }) });
const inFlight = (id: string, rev = 2) =>
  report(id, {
    desiredRev: rev,
    desiredReleaseId: TARGET,
    update: update({ phase: 'probation', candidate: { rev, releaseId: TARGET, version: '2.0.0' } }),
  });

const reportsOf = (...rs: DeviceReport[]) => new Map(rs.map((r) => [r.deviceId, r]));

describe('decide: assignments', () => {
  it('assigns the pending devices of the current phase only, remembering their previous release', () => {
    const s = rollout([phase(), phase()], [device('a', 0), device('b', 1)]);
    expect(decide(s, reportsOf(report('a'), report('b')), NOW)).toEqual([{ kind: 'assign', deviceId: 'a', previousReleaseId: OLD }]);
  });

  it('counts a device already on the target as succeeded without assigning it', () => {
    const s = rollout([phase(), phase()], [device('a', 0), device('b', 1)]);
    const onTarget = report('a', { desiredReleaseId: TARGET, update: update({ active: { rev: 1, releaseId: TARGET, version: '2' } }) });
    expect(decide(s, reportsOf(onTarget, report('b')), NOW)).toEqual([
      { kind: 'succeed', deviceId: 'a', reason: 'already on the target release' },
      { kind: 'advance', toPhase: 1 },
      { kind: 'assign', deviceId: 'b', previousReleaseId: OLD },
    ]);
  });

  it('does nothing while paused, waiting or finished, except record outcomes', () => {
    const devices = [updating('a', 0), device('b', 0)];
    for (const status of ['paused', 'waiting'] as const) {
      expect(decide(rollout([phase()], devices, { status }), reportsOf(committed('a'), report('b')), NOW)).toEqual([
        { kind: 'succeed', deviceId: 'a', reason: null },
      ]);
    }
    for (const status of ['completed', 'aborted', 'rolled-back'] as const) {
      expect(decide(rollout([phase()], devices, { status }), reportsOf(committed('a'), report('b')), NOW)).toEqual([]);
    }
  });

  it('drops a pending device that left the selection before its turn', () => {
    const s = rollout([phase()], [device('a', 0), device('gone', 0)]);
    expect(decide(s, reportsOf(report('a'), report('gone', { inSelection: false })), NOW)).toEqual([
      { kind: 'assign', deviceId: 'a', previousReleaseId: OLD },
      { kind: 'drop', deviceId: 'gone' },
    ]);
  });
});

describe('decide: outcomes', () => {
  it('a device that committed the target and is idle succeeded', () => {
    const s = rollout([phase(), phase()], [updating('a', 0), updating('b', 0)]);
    expect(decide(s, reportsOf(committed('a'), inFlight('b')), NOW)).toEqual([{ kind: 'succeed', deviceId: 'a', reason: null }]);
  });

  it('a device whose failedRev reached its rev failed, with its own lastFailure as the reason', () => {
    const s = rollout([phase({ failureThreshold: 50 }), phase()], [updating('a', 0), updating('b', 0), updating('c', 0)]);
    expect(decide(s, reportsOf(rolledBack('a'), inFlight('b'), inFlight('c')), NOW)).toEqual([
      { kind: 'fail', deviceId: 'a', reason: 'health check of web failed: exit 1' },
    ]);
  });

  it('an update-rolled-back event counts as a failure even before the next report', () => {
    const s = rollout([phase({ failureThreshold: 100 })], [updating('a', 0)]);
    const r = inFlight('a');
    expect(decide(s, reportsOf({ ...r, rolledBackRev: 2, rolledBackReason: 'probation: web unhealthy' }), NOW)).toEqual([
      { kind: 'fail', deviceId: 'a', reason: 'probation: web unhealthy' },
      { kind: 'pause', reason: 'phase "p" finished with 0 of 1 succeeded, below its success threshold of 100 %' },
    ]);
  });

  it('an old failure (failedRev below the assigned rev) does not count', () => {
    const s = rollout([phase(), phase()], [updating('a', 0, 5)]);
    const r = report('a', {
      desiredRev: 5,
      desiredReleaseId: TARGET,
      update: update({ phase: 'fetch', failedRev: 3, lastFailure: 'old' }),
    });
    expect(decide(s, reportsOf(r), NOW)).toEqual([]);
  });

  it('a device that neither commits nor rolls back in time failed by timeout', () => {
    const s = rollout([phase({ failureThreshold: 100 })], [updating('a', 0, 2, NOW - 61_000), updating('b', 0, 2, NOW - 1_000)]);
    expect(decide(s, reportsOf(inFlight('a'), inFlight('b')), NOW)).toEqual([
      { kind: 'fail', deviceId: 'a', reason: 'timed out after 60 s without committing (still in phase "probation")' },
    ]);
  });

  it('a device waiting for an update lock is neither failed nor timed out; its timeout counts again from the end of the wait', () => {
    const waiting = report('a', {
      desiredRev: 2,
      desiredReleaseId: TARGET,
      update: update({
        phase: 'fetch',
        candidate: { rev: 2, releaseId: TARGET, version: '2.0.0' },
        deferred: { waitingFor: 'lock', since: new Date(NOW - 50_000).toISOString(), components: ['printer'] },
      }),
    });
    const s = rollout([phase()], [updating('a', 0, 2, NOW - 61_000)]);
    const first = decide(s, reportsOf(waiting), NOW);
    expect(first).toEqual([{ kind: 'waiting', deviceId: 'a', waitingFor: 'lock' }]);
    const marked = applyActions(s, first, NOW);
    expect(decide(marked, reportsOf(waiting), NOW + 3_600_000)).toEqual([]);
    // The lock is released: the wait ends now, and the switch gets the whole timeout from here.
    const released = decide(marked, reportsOf(inFlight('a')), NOW + 3_600_000);
    expect(released).toEqual([{ kind: 'waiting', deviceId: 'a', waitingFor: null }]);
    const after = applyActions(marked, released, NOW + 3_600_000);
    expect(after.devices[0]).toMatchObject({ waitingFor: null, assignedAt: NOW + 3_600_000 });
    expect(decide(after, reportsOf(inFlight('a')), NOW + 3_600_000 + 59_000)).toEqual([]);
    expect(decide(after, reportsOf(inFlight('a')), NOW + 3_600_000 + 61_000)).toMatchObject([
      { kind: 'fail', deviceId: 'a' },
      { kind: 'pause' },
    ]);
  });

  it('a device re-targeted by someone else failed; a device deleted failed', () => {
    const s = rollout([phase({ failureThreshold: 100 })], [updating('a', 0), updating('b', 0)]);
    const moved = report('a', { desiredRev: 3, desiredReleaseId: 'rel-other' });
    expect(decide(s, reportsOf(moved), NOW)).toEqual([
      { kind: 'fail', deviceId: 'a', reason: 're-targeted outside the rollout (now release rel-other)' },
      { kind: 'fail', deviceId: 'b', reason: 'the device no longer exists' },
      { kind: 'pause', reason: expect.stringContaining('finished with 0 of 2 succeeded') },
    ]);
  });
});

describe('decide: thresholds', () => {
  it('a canary that rolls back pauses the rollout, and the next phase is not touched', () => {
    const s = rollout([phase({ name: 'canary' }), phase({ name: 'rest' })], [updating('c', 0), device('x', 1), device('y', 1)]);
    const actions = decide(s, reportsOf(rolledBack('c'), report('x'), report('y')), NOW);
    expect(actions).toEqual([
      { kind: 'fail', deviceId: 'c', reason: 'health check of web failed: exit 1' },
      {
        kind: 'pause',
        reason: 'phase "canary": 1 of 1 devices failed, more than the 0 tolerated; c: health check of web failed: exit 1',
      },
    ]);
    expect(actions.some((a) => a.kind === 'assign')).toBe(false);
  });

  it('a failure threshold with onFailure abort aborts', () => {
    const s = rollout(
      [phase({ failureThreshold: 10, onFailure: 'abort' }), phase()],
      [...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((id) => updating(id, 0)), device('z', 1)],
    );
    const reports = reportsOf(
      rolledBack('a'),
      rolledBack('b'),
      ...['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((id) => inFlight(id)),
      report('z'),
    );
    const actions = decide(s, reports, NOW);
    expect(actions.at(-1)).toEqual({ kind: 'abort', reason: expect.stringContaining('2 of 10 devices failed, more than the 1 tolerated') });
  });

  it('failures within tolerance do not pause', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const s = rollout(
      [phase({ successThreshold: 80, failureThreshold: 10 }), phase()],
      [...ids.map((id) => updating(id, 0)), device('z', 1)],
    );
    const reports = reportsOf(rolledBack('a'), ...ids.slice(1, 8).map((id) => committed(id)), inFlight('i'), inFlight('j'), report('z'));
    const actions = decide(s, reports, NOW);
    expect(actions.filter((a) => a.kind === 'pause' || a.kind === 'abort')).toEqual([]);
    expect(actions.filter((a) => a.kind === 'advance')).toEqual([]);
  });

  it('meeting the success threshold advances to the next phase and assigns it in the same pass', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const s = rollout([phase({ successThreshold: 80 }), phase()], [...ids.map((id) => updating(id, 0)), device('z', 1)]);
    const reports = reportsOf(...ids.slice(0, 4).map((id) => committed(id)), inFlight('e'), report('z'));
    expect(decide(s, reports, NOW).slice(-2)).toEqual([
      { kind: 'advance', toPhase: 1 },
      { kind: 'assign', deviceId: 'z', previousReleaseId: OLD },
    ]);
  });

  it('manual advance waits after the phase meets its threshold', () => {
    const s = rollout([phase({ name: 'canary' }), phase()], [updating('a', 0), device('z', 1)], { advance: 'manual' });
    expect(decide(s, reportsOf(committed('a'), report('z')), NOW)).toEqual([
      { kind: 'succeed', deviceId: 'a', reason: null },
      { kind: 'wait', reason: expect.stringContaining('phase "canary" met its success threshold') },
    ]);
  });

  it('empty phases pass at once; the last phase completes once every device settled', () => {
    const s = rollout([phase(), phase(), phase()], [updating('a', 0), updating('b', 2)], { currentPhase: 2 });
    expect(decide(s, reportsOf(committed('a'), inFlight('b')), NOW)).toEqual([{ kind: 'succeed', deviceId: 'a', reason: null }]);
    expect(decide(s, reportsOf(committed('a'), committed('b')), NOW)).toEqual([
      { kind: 'succeed', deviceId: 'a', reason: null },
      { kind: 'succeed', deviceId: 'b', reason: null },
      { kind: 'complete' },
    ]);
    const empty = rollout([phase(), phase()], [device('a', 1)]);
    expect(decide(empty, reportsOf(report('a')), NOW)).toEqual([
      { kind: 'advance', toPhase: 1 },
      { kind: 'assign', deviceId: 'a', previousReleaseId: OLD },
    ]);
  });

  it('a failure in an earlier phase after advancing still pauses', () => {
    const s = rollout([phase({ name: 'canary' }), phase()], [updating('c', 0), updating('x', 1)], { currentPhase: 1 });
    expect(decide(s, reportsOf(rolledBack('c'), inFlight('x')), NOW).at(-1)).toEqual({
      kind: 'pause',
      reason: expect.stringContaining('phase "canary"'),
    });
  });

  it('after a resume the failures already seen are accepted, new ones pause again', () => {
    const s = rollout(
      [phase({ name: 'canary' }), phase()],
      [device('c', 0, { state: 'failed', reason: 'x', acceptedBy: 'key-1', acceptedAt: NOW - 10 }), device('z', 1), device('y', 1)],
    );
    // The canary failed, the operator accepted it and advanced: the rest proceeds.
    const advanced = { ...s, currentPhase: 1 };
    expect(decide(advanced, reportsOf(report('c'), report('z'), report('y')), NOW)).toEqual([
      { kind: 'assign', deviceId: 'z', previousReleaseId: OLD },
      { kind: 'assign', deviceId: 'y', previousReleaseId: OLD },
    ]);
    const after = applyActions(advanced, decide(advanced, reportsOf(report('c'), report('z'), report('y')), NOW), NOW);
    const withRevs = { ...after, devices: after.devices.map((d) => (d.state === 'updating' ? { ...d, assignedRev: 2 } : d)) };
    expect(decide(withRevs, reportsOf(report('c'), rolledBack('z'), inFlight('y')), NOW).at(-1)).toEqual({
      kind: 'pause',
      reason: expect.stringMatching(/^phase "p": 1 of 2 devices failed, more than the 0 tolerated; z: /),
    });
  });

  it('accepted failures leave the success threshold: a resumed phase finishes and the rollout completes', () => {
    // The README's story: a phase paused on its failures, the operator resumed, the rest committed.
    const accepted = { acceptedBy: 'key-1', acceptedAt: NOW - 10 };
    const s = rollout(
      [phase({ name: 'canary' }), phase({ name: 'half' }), phase({ name: 'rest' })],
      [
        device('c', 0, { state: 'succeeded' }),
        device('f1', 1, { state: 'failed', reason: 'x', ...accepted }),
        device('f2', 1, { state: 'failed', reason: 'x', ...accepted }),
        updating('h', 1),
        device('r', 2),
      ],
      { currentPhase: 1 },
    );
    const reports = reportsOf(report('c'), report('f1'), report('f2'), committed('h'), report('r'));
    const first = decide(s, reports, NOW);
    expect(first).toEqual([
      { kind: 'succeed', deviceId: 'h', reason: null },
      { kind: 'advance', toPhase: 2 },
      { kind: 'assign', deviceId: 'r', previousReleaseId: OLD },
    ]);
    const last = applyActions(s, first, NOW, new Map([['r', 2]]));
    expect(decide(last, reportsOf(report('c'), report('f1'), report('f2'), committed('h'), committed('r')), NOW)).toEqual([
      { kind: 'succeed', deviceId: 'r', reason: null },
      { kind: 'complete' },
    ]);
  });

  it('a failure not accepted keeps counting against the success threshold', () => {
    const s = rollout(
      [phase({ name: 'half', failureThreshold: 50 })],
      [
        device('f1', 0, { state: 'failed', reason: 'x' }),
        device('f2', 0, { state: 'failed', reason: 'y', acceptedBy: 'k', acceptedAt: 1 }),
        updating('h', 0),
      ],
    );
    expect(decide(s, reportsOf(report('f1'), report('f2'), committed('h')), NOW)).toEqual([
      { kind: 'succeed', deviceId: 'h', reason: null },
      {
        kind: 'pause',
        reason: 'phase "half" finished with 1 of 2 succeeded (1 accepted failure(s) not counted), below its success threshold of 100 %',
      },
    ]);
  });
});

describe('decide: joiners and level triggering', () => {
  it('a device that joins the selection while running gets the target in the current phase', () => {
    const s = rollout([phase(), phase()], [updating('a', 0)], { currentPhase: 0 });
    expect(decide(s, reportsOf(inFlight('a'), report('new')), NOW)).toEqual([
      { kind: 'join', deviceId: 'new', phase: 0 },
      { kind: 'assign', deviceId: 'new', previousReleaseId: OLD },
    ]);
  });

  it('devices outside the selection and joiners while paused are left alone', () => {
    const s = rollout([phase()], [updating('a', 0)]);
    expect(decide(s, reportsOf(inFlight('a'), report('other', { inSelection: false })), NOW)).toEqual([]);
    expect(decide({ ...s, status: 'paused' }, reportsOf(inFlight('a'), report('new')), NOW)).toEqual([]);
  });

  it('deciding again on the applied state yields nothing new', () => {
    const s = rollout([phase({ successThreshold: 50 }), phase()], [updating('a', 0), updating('b', 0), device('z', 1)]);
    const reports = reportsOf(committed('a'), inFlight('b'), report('z'));
    const first = decide(s, reports, NOW);
    const applied = applyActions(s, first, NOW);
    const withRevs = {
      ...applied,
      devices: applied.devices.map((d) => (d.assignedRev === null && d.state === 'updating' ? { ...d, assignedRev: 2 } : d)),
    };
    expect(decide(withRevs, reportsOf(committed('a'), inFlight('b'), inFlight('z')), NOW)).toEqual([]);
  });
});
