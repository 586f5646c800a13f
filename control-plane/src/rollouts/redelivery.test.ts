import { forgetStale, redeliveryDue } from './redelivery';
import { pendingDevice, type DeviceReport, type RolloutDevice, type RolloutState } from './rollout-state';

const NOW = 1_000_000;
const AFTER = 15_000;

function updating(id: string, assignedAt: number, assignedRev = 2): RolloutDevice {
  return { ...pendingDevice(id, 0), state: 'updating', assignedRev, assignedAt };
}

function report(id: string, reportedRev: number | null, desiredRev = 2): DeviceReport {
  return {
    deviceId: id,
    inSelection: true,
    desiredRev,
    desiredReleaseId: 'target',
    reportedRev,
    update: null,
    rolledBackRev: null,
    rolledBackReason: null,
  };
}

function state(devices: RolloutDevice[]): RolloutState {
  return {
    id: 'r1',
    releaseId: 'target',
    status: 'running',
    statusReason: null,
    advance: 'auto',
    currentPhase: 0,
    deviceTimeoutMs: 300_000,
    force: false,
    phases: [{ name: 'p', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' }],
    devices,
  };
}

describe('redeliveryDue', () => {
  const devices = [
    updating('silent', NOW - AFTER),
    updating('fresh', NOW - AFTER + 1),
    updating('heard', NOW - AFTER),
    updating('moved-on', NOW - AFTER),
    { ...updating('done', NOW - AFTER), state: 'succeeded' as const },
  ];
  const reports = new Map([
    ['silent', report('silent', 1)],
    ['fresh', report('fresh', 1)],
    ['heard', report('heard', 2)],
    // Its desired state changed since the assignment (another change): that one is published by whoever made it.
    ['moved-on', report('moved-on', 1, 3)],
    ['done', report('done', 1)],
  ]);

  it('names the updating devices assigned long enough ago that report an older rev', () => {
    expect(redeliveryDue(state(devices), reports, new Map(), NOW, AFTER)).toEqual(['silent']);
  });

  it('tells a device again only once per interval, and a device that never reported too', () => {
    const never = new Map([['silent', report('silent', null)]]);
    const s = state([updating('silent', NOW - 3 * AFTER)]);
    expect(redeliveryDue(s, never, new Map([['silent', NOW - AFTER + 1]]), NOW, AFTER)).toEqual([]);
    expect(redeliveryDue(s, never, new Map([['silent', NOW - AFTER]]), NOW, AFTER)).toEqual(['silent']);
  });

  it('forgets what no longer holds a device back, and decides the same without it', () => {
    const pair = [updating('a', NOW - 60_000), updating('b', NOW - 60_000)];
    const heard = new Map([report('a', 1), report('b', 1)].map((r) => [r.deviceId, r]));
    const told = new Map([
      ['a', NOW - AFTER - 1],
      ['b', NOW - 1_000],
    ]);
    const before = redeliveryDue(state(pair), heard, told, NOW, AFTER);
    forgetStale(told, NOW, AFTER);
    expect([...told.keys()]).toEqual(['b']);
    expect(redeliveryDue(state(pair), heard, told, NOW, AFTER)).toEqual(before);
    expect(before).toEqual(['a']);
  });
});
