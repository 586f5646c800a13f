import { applyActions } from './apply-action';
import { countDevices, type DeviceReport, type RolloutAction, type RolloutDevice, type RolloutState } from './rollout-state';

/**
 * The rollout's next steps, from its state, what the devices last reported, and the time.
 * Pure: the engine applies the actions (assignments through the devices service, state into
 * PostgreSQL). Level-triggered: calling it again on the same inputs after applying its actions
 * yields nothing new, so a replica or a restart may call it at any time.
 *
 * Order within one pass: outcomes of devices being updated; then, if running, the failure
 * thresholds, joiners, assignments of the current phase, and the success threshold, which
 * may advance through several phases (an empty phase passes at once).
 */
export function decide(state: RolloutState, reports: ReadonlyMap<string, DeviceReport>, now: number): RolloutAction[] {
  if (state.status !== 'running' && state.status !== 'waiting' && state.status !== 'paused') return [];
  const actions: RolloutAction[] = [];
  // The state with every action so far, brought up to date only when read: applying 10,000 actions
  // one by one copies the device list 10,000 times (see `applyActions`).
  let applied = 0;
  let current = state;
  const latest = (): RolloutState => {
    if (applied < actions.length) current = applyActions(current, actions.slice(applied), now);
    applied = actions.length;
    return current;
  };
  const act = (action: RolloutAction): void => void actions.push(action);

  for (const device of state.devices) {
    if (device.state !== 'updating') continue;
    const outcome = outcomeOf(device, reports.get(device.deviceId), state.releaseId, state.deviceTimeoutMs, now);
    if (outcome) act(outcome);
  }
  if (latest().status !== 'running') return actions;

  const breach = failureBreach(latest());
  if (breach) {
    act({ kind: breach.onFailure, reason: breach.reason });
    return actions;
  }

  const known = new Set(latest().devices.map((d) => d.deviceId));
  for (const report of reports.values()) {
    if (report.inSelection && !known.has(report.deviceId)) act({ kind: 'join', deviceId: report.deviceId, phase: latest().currentPhase });
  }

  for (;;) {
    const { devices, currentPhase, releaseId } = latest();
    for (const device of devices) {
      if (device.phase !== currentPhase || device.state !== 'pending') continue;
      const report = reports.get(device.deviceId);
      if (!report || !report.inSelection) act({ kind: 'drop', deviceId: device.deviceId });
      else if (onTarget(report, releaseId)) act({ kind: 'succeed', deviceId: device.deviceId, reason: 'already on the target release' });
      else act({ kind: 'assign', deviceId: device.deviceId, previousReleaseId: report.desiredReleaseId });
    }
    const phase = latest().phases[currentPhase]!;
    const counts = countDevices(latest().devices, currentPhase);
    // Accepted failures leave the reckoning: the operator said the phase may go on without them.
    const judged = counts.devices - counts.accepted;
    const metSuccess = counts.succeeded * 100 >= phase.successThreshold * judged;
    if (!metSuccess) {
      // Every device settled, failures within tolerance, yet too few successes: nothing more can happen by itself.
      if (counts.pending === 0 && counts.updating === 0) {
        const accepted = counts.accepted > 0 ? ` (${counts.accepted} accepted failure(s) not counted)` : '';
        act({
          kind: 'pause',
          reason: `phase "${phase.name}" finished with ${counts.succeeded} of ${judged} succeeded${accepted}, below its success threshold of ${phase.successThreshold} %`,
        });
      }
      break;
    }
    const isLast = currentPhase === latest().phases.length - 1;
    if (isLast) {
      if (countDevices(latest().devices).updating === 0 && countDevices(latest().devices).pending === 0) act({ kind: 'complete' });
      break;
    }
    if (latest().advance === 'manual') {
      act({ kind: 'wait', reason: `phase "${phase.name}" met its success threshold; POST …/advance to start the next phase` });
      break;
    }
    act({ kind: 'advance', toPhase: currentPhase + 1 });
  }
  return actions;
}

/** Success, failure or timeout of one device being updated; undefined while it is still on its way. */
export function outcomeOf(
  device: RolloutDevice,
  report: DeviceReport | undefined,
  targetReleaseId: string,
  timeoutMs: number,
  now: number,
): RolloutAction | undefined {
  const { deviceId } = device;
  if (!report) return { kind: 'fail', deviceId, reason: 'the device no longer exists' };
  const rev = device.assignedRev ?? 0;
  const update = report.update;
  if (update?.failedRev !== null && update?.failedRev !== undefined && update.failedRev >= rev) {
    return { kind: 'fail', deviceId, reason: update.lastFailure ?? report.rolledBackReason ?? `rolled back rev ${update.failedRev}` };
  }
  if (report.rolledBackRev !== null && report.rolledBackRev >= rev) {
    return { kind: 'fail', deviceId, reason: report.rolledBackReason ?? `rolled back rev ${report.rolledBackRev}` };
  }
  if (update?.phase === 'idle' && update.active?.releaseId === targetReleaseId && update.active.rev >= rev) {
    return { kind: 'succeed', deviceId, reason: null };
  }
  if (report.desiredRev > rev && report.desiredReleaseId !== targetReleaseId) {
    return { kind: 'fail', deviceId, reason: `re-targeted outside the rollout (now release ${report.desiredReleaseId ?? 'none'})` };
  }
  // Downloaded, waiting for a component's update lock: news, but neither a failure nor a timeout.
  const waitingFor = update?.deferred && (update.candidate?.rev ?? -1) >= rev ? update.deferred.waitingFor : null;
  if (waitingFor !== device.waitingFor) return { kind: 'waiting', deviceId, waitingFor };
  if (waitingFor !== null) return undefined;
  if (device.assignedAt !== null && now - device.assignedAt > timeoutMs) {
    const where = update ? `still in phase "${update.phase}"` : 'no report';
    return { kind: 'fail', deviceId, reason: `timed out after ${Math.round(timeoutMs / 1000)} s without committing (${where})` };
  }
  return undefined;
}

/** Already running the target, and told to: nothing to do for this device. */
function onTarget(report: DeviceReport, targetReleaseId: string): boolean {
  return (
    report.desiredReleaseId === targetReleaseId && report.update?.phase === 'idle' && report.update.active?.releaseId === targetReleaseId
  );
}

interface Breach {
  onFailure: 'pause' | 'abort';
  reason: string;
}

/**
 * The first phase (up to the current one) whose failures not yet accepted exceed what it
 * tolerates. Later failures of an earlier phase still count: a device of the canary that rolls
 * back after the rollout advanced is news. Accepted failures never count again, or the rollout
 * would pause at once after a resume.
 */
function failureBreach(s: RolloutState): Breach | undefined {
  for (let i = 0; i <= s.currentPhase; i++) {
    const phase = s.phases[i]!;
    const counts = countDevices(s.devices, i);
    const tolerated = Math.floor((phase.failureThreshold * counts.devices) / 100);
    const unaccepted = counts.failed - counts.accepted;
    if (unaccepted > tolerated) {
      const last = s.devices
        .filter((d) => d.phase === i && d.state === 'failed' && d.acceptedAt === null)
        .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))[0];
      const accepted = counts.accepted > 0 ? ` (besides ${counts.accepted} accepted)` : '';
      return {
        onFailure: phase.onFailure,
        reason:
          `phase "${phase.name}": ${unaccepted} of ${counts.devices} devices failed${accepted}, more than the ${tolerated} tolerated` +
          (last ? `; ${last.deviceId}: ${last.reason ?? 'failed'}` : ''),
      };
    }
  }
  return undefined;
}
