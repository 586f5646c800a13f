import { applyOperatorCommand, rollbackTargets } from './operator-commands';
import { pendingDevice, type RolloutDevice, type RolloutState } from './rollout-state';

function dev(deviceId: string, over: Partial<RolloutDevice>): RolloutDevice {
  return { ...pendingDevice(deviceId, 0), ...over };
}

const NOW = 1_000_000;
const alice = { id: 'key-alice', name: 'Alice' };
const bob = { id: 'key-bob', name: 'Bob' };

const base: RolloutState = {
  id: 'r',
  releaseId: 'target',
  status: 'running',
  statusReason: null,
  advance: 'auto',
  currentPhase: 0,
  deviceTimeoutMs: 1000,
  force: false,
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
    const paused = applyOperatorCommand(base, 'pause', alice, NOW);
    expect(paused).toMatchObject({ ok: true, state: { status: 'paused', statusReason: 'paused by Alice' } });
    const resumed = applyOperatorCommand(paused.ok ? paused.state : base, 'resume', alice, NOW);
    expect(resumed).toMatchObject({ ok: true, state: { status: 'running', currentPhase: 0 } });
    expect(resumed.ok && resumed.state.devices.filter((d) => d.acceptedAt !== null)).toEqual([
      { ...base.devices[1], acceptedBy: 'key-alice', acceptedAt: NOW },
    ]);
    expect(applyOperatorCommand(base, 'abort', bob, NOW)).toMatchObject({ ok: true, state: { status: 'aborted' } });
  });

  it('an acceptance stays with who gave it first: a later resume accepts only the new failures', () => {
    const once = applyOperatorCommand({ ...base, status: 'paused' }, 'resume', alice, NOW);
    const failedAgain = once.ok && { ...once.state, status: 'paused' as const };
    const newFailure = failedAgain && {
      ...failedAgain,
      devices: failedAgain.devices.map((d) => (d.deviceId === 'fresh' ? { ...d, state: 'failed' as const } : d)),
    };
    const twice = newFailure && applyOperatorCommand(newFailure, 'advance', bob, NOW + 5);
    expect(
      twice && twice.ok && twice.state.devices.filter((d) => d.acceptedAt !== null).map((d) => [d.deviceId, d.acceptedBy, d.acceptedAt]),
    ).toEqual([
      ['failed', 'key-alice', NOW],
      ['fresh', 'key-bob', NOW + 5],
    ]);
  });

  it('abort changes no device: the rest stays where it is', () => {
    const aborted = applyOperatorCommand(base, 'abort', bob, NOW);
    expect(aborted.ok && aborted.state.devices).toEqual(base.devices);
  });

  it('advances by one phase, not past the last', () => {
    expect(applyOperatorCommand({ ...base, status: 'waiting' }, 'advance', bob, NOW)).toMatchObject({
      ok: true,
      state: { currentPhase: 1, status: 'running' },
    });
    expect(applyOperatorCommand({ ...base, currentPhase: 1 }, 'advance', bob, NOW)).toEqual({
      ok: false,
      reason: 'the rollout is already in its last phase',
    });
  });

  it('refuses transitions that make no sense', () => {
    expect(applyOperatorCommand(base, 'resume', bob, NOW)).toEqual({ ok: false, reason: 'cannot resume a rollout that is running' });
    expect(applyOperatorCommand({ ...base, status: 'completed' }, 'pause', bob, NOW).ok).toBe(false);
    expect(applyOperatorCommand({ ...base, status: 'rolled-back' }, 'rollback', bob, NOW).ok).toBe(false);
    expect(applyOperatorCommand({ ...base, status: 'completed' }, 'rollback', bob, NOW).ok).toBe(true);
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
