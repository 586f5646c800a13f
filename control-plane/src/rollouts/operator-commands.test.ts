import { applyOperatorCommand, rollbackTargets } from './operator-commands';
import type { RolloutDevice, RolloutState } from './rollout-state';

function dev(deviceId: string, over: Partial<RolloutDevice>): RolloutDevice {
  return {
    deviceId,
    phase: 0,
    state: 'pending',
    assignedRev: null,
    assignedAt: null,
    finishedAt: null,
    previousReleaseId: null,
    reason: null,
    joined: false,
    ...over,
  };
}

const base: RolloutState = {
  id: 'r',
  releaseId: 'target',
  status: 'running',
  statusReason: null,
  advance: 'auto',
  currentPhase: 0,
  deviceTimeoutMs: 1000,
  acceptedFailures: 0,
  phases: [
    { name: 'canary', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' },
    { name: 'rest', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' },
  ],
  devices: [
    dev('ok', { state: 'succeeded', assignedRev: 3, previousReleaseId: 'v1' }),
    dev('failed', { state: 'failed', assignedRev: 4, previousReleaseId: 'v1b' }),
    dev('fresh', { state: 'updating', assignedRev: 1, previousReleaseId: null }),
    dev('untouched', { phase: 1 }),
    dev('was-there', { state: 'succeeded', reason: 'already on the target release' }),
  ],
};

describe('applyOperatorCommand', () => {
  it('pauses, resumes (accepting the failures seen), aborts', () => {
    const paused = applyOperatorCommand(base, 'pause', 'alice');
    expect(paused).toMatchObject({ ok: true, state: { status: 'paused', statusReason: 'paused by alice' } });
    const resumed = applyOperatorCommand(paused.ok ? paused.state : base, 'resume', 'alice');
    expect(resumed).toMatchObject({ ok: true, state: { status: 'running', acceptedFailures: 1 } });
    expect(applyOperatorCommand(base, 'abort', 'bob')).toMatchObject({ ok: true, state: { status: 'aborted' } });
  });

  it('abort changes no device: the rest stays where it is', () => {
    const aborted = applyOperatorCommand(base, 'abort', 'bob');
    expect(aborted.ok && aborted.state.devices).toEqual(base.devices);
  });

  it('advances by one phase, not past the last', () => {
    expect(applyOperatorCommand({ ...base, status: 'waiting' }, 'advance', 'a')).toMatchObject({
      ok: true,
      state: { currentPhase: 1, status: 'running' },
    });
    expect(applyOperatorCommand({ ...base, currentPhase: 1 }, 'advance', 'a')).toEqual({
      ok: false,
      reason: 'the rollout is already in its last phase',
    });
  });

  it('refuses transitions that make no sense', () => {
    expect(applyOperatorCommand(base, 'resume', 'a')).toEqual({ ok: false, reason: 'cannot resume a rollout that is running' });
    expect(applyOperatorCommand({ ...base, status: 'completed' }, 'pause', 'a').ok).toBe(false);
    expect(applyOperatorCommand({ ...base, status: 'rolled-back' }, 'rollback', 'a').ok).toBe(false);
    expect(applyOperatorCommand({ ...base, status: 'completed' }, 'rollback', 'a').ok).toBe(true);
  });
});

describe('rollbackTargets', () => {
  it('re-targets every device the rollout assigned to its previous release, failed ones included', () => {
    expect(rollbackTargets(base)).toEqual({
      targets: [
        { deviceId: 'ok', releaseId: 'v1' },
        { deviceId: 'failed', releaseId: 'v1b' },
      ],
      skipped: ['fresh'],
    });
  });
});
