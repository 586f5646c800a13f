import type { RolloutDeviceState, RolloutStatus, UpdateStatus } from '@flotilla/shared';

/**
 * The rollout as the pure decision functions see it: plain data, no entities, times in epoch
 * milliseconds. The engine loads it from PostgreSQL, `decide` reads it, `applyAction` evolves it.
 */
export interface RolloutPhase {
  name: string;
  /** Percent of the phase's devices that must succeed before the next phase starts. */
  successThreshold: number;
  /** Percent of the phase's devices that may fail before `onFailure` happens. */
  failureThreshold: number;
  onFailure: 'pause' | 'abort';
}

export interface RolloutDevice {
  deviceId: string;
  phase: number;
  state: RolloutDeviceState;
  /** The desired rev the assignment produced; outcomes are judged against it. */
  assignedRev: number | null;
  assignedAt: number | null;
  finishedAt: number | null;
  /** What the device was told to run before the rollout touched it ("roll back all" returns there). */
  previousReleaseId: string | null;
  reason: string | null;
  joined: boolean;
  /**
   * Set when an operator accepted this device's failure (by resuming or advancing): the principal
   * (operator key id) and when. An accepted failure no longer counts against the phase's failure
   * threshold, and leaves the phase's reckoning of its success threshold.
   */
  acceptedBy: string | null;
  acceptedAt: number | null;
  /**
   * Set while the device reports a downloaded update waiting for an update lock: it neither
   * fails nor times out meanwhile, and its timeout counts again from when the wait ended.
   */
  waitingFor: 'lock' | 'window' | null;
}

/** A device as it enters a rollout: placed in a phase, nothing assigned, nothing judged yet. */
export function pendingDevice(deviceId: string, phase: number, joined = false): RolloutDevice {
  return {
    deviceId,
    phase,
    state: 'pending',
    assignedRev: null,
    assignedAt: null,
    finishedAt: null,
    previousReleaseId: null,
    reason: null,
    joined,
    acceptedBy: null,
    acceptedAt: null,
    waitingFor: null,
  };
}

export interface RolloutState {
  id: string;
  releaseId: string;
  status: RolloutStatus;
  statusReason: string | null;
  advance: 'auto' | 'manual';
  currentPhase: number;
  deviceTimeoutMs: number;
  /** Assignments carry `updatePolicy.force`: the devices' update locks are overridden. */
  force: boolean;
  phases: RolloutPhase[];
  devices: RolloutDevice[];
}

/** What the engine knows of one device from the devices table (its last `reported` and events). */
export interface DeviceReport {
  deviceId: string;
  /** Whether the device matches the rollout's selection now (joiners are found this way). */
  inSelection: boolean;
  desiredRev: number;
  desiredReleaseId: string | null;
  /** The rev the device last said it holds; null before its first report. */
  reportedRev: number | null;
  update: UpdateStatus | null;
  /** Highest rev of an `update-rolled-back` event, with its message, when one was received. */
  rolledBackRev: number | null;
  rolledBackReason: string | null;
}

export type RolloutAction =
  /** Point the device at the target release (through DevicesService.assignReleaseToMany, with the decision's other assignments). */
  | { kind: 'assign'; deviceId: string; previousReleaseId: string | null }
  /** A device newly in the selection: add it to the current phase as pending. */
  | { kind: 'join'; deviceId: string; phase: number }
  /** A pending device that left the selection before its turn: it is no longer part of the rollout. */
  | { kind: 'drop'; deviceId: string }
  | { kind: 'succeed'; deviceId: string; reason: string | null }
  | { kind: 'fail'; deviceId: string; reason: string }
  /** The device began or stopped waiting for an update lock. */
  | { kind: 'waiting'; deviceId: string; waitingFor: 'lock' | 'window' | null }
  | { kind: 'advance'; toPhase: number }
  /** Manual advance: the phase met its success threshold and waits for POST …/advance. */
  | { kind: 'wait'; reason: string }
  | { kind: 'pause'; reason: string }
  | { kind: 'abort'; reason: string }
  | { kind: 'complete' };

export interface RolloutCountsOf {
  devices: number;
  pending: number;
  updating: number;
  succeeded: number;
  failed: number;
  /** Of `failed`, those an operator accepted. */
  accepted: number;
  /** Of `updating`, those waiting for an update lock. */
  waiting: number;
}

export function countDevices(devices: readonly RolloutDevice[], phase?: number): RolloutCountsOf {
  const counts: RolloutCountsOf = { devices: 0, pending: 0, updating: 0, succeeded: 0, failed: 0, accepted: 0, waiting: 0 };
  for (const d of devices) {
    if (phase !== undefined && d.phase !== phase) continue;
    counts.devices++;
    counts[d.state]++;
    if (d.state === 'failed' && d.acceptedAt !== null) counts.accepted++;
    if (d.state === 'updating' && d.waitingFor !== null) counts.waiting++;
  }
  return counts;
}

export function isTerminal(status: RolloutStatus): boolean {
  return status === 'completed' || status === 'aborted' || status === 'rolled-back';
}
