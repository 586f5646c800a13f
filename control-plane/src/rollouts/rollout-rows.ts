import type { RolloutDeviceState, RolloutSelection, RolloutStatus } from '@flotilla/shared';
import type { RolloutDevice, RolloutPhase, RolloutState } from './rollout-state';

/** A rollout row beyond its decision state: what the API shows. */
export interface RolloutRecord {
  state: RolloutState;
  name: string;
  selection: RolloutSelection;
  requestDigest: string;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A `rollouts` row as PostgreSQL returns it. */
export interface RawRollout {
  id: string;
  name: string;
  release_id: string;
  selection: RolloutSelection;
  phases: RolloutPhase[];
  status: RolloutStatus;
  status_reason: string | null;
  advance: 'auto' | 'manual';
  current_phase: number;
  device_timeout_ms: number;
  force: boolean;
  request_digest: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** A `rollout_devices` row as PostgreSQL returns it. */
export interface RawRolloutDevice {
  device_id: string;
  phase: number;
  state: RolloutDeviceState;
  assigned_rev: number | null;
  assigned_at: Date | null;
  finished_at: Date | null;
  previous_release_id: string | null;
  reason: string | null;
  joined: boolean;
  accepted_by: string | null;
  accepted_at: Date | null;
  waiting_for: 'lock' | 'window' | null;
}

export function toRecord(r: RawRollout, devices: RolloutDevice[]): RolloutRecord {
  return {
    state: {
      id: r.id,
      releaseId: r.release_id,
      status: r.status,
      statusReason: r.status_reason,
      advance: r.advance,
      currentPhase: r.current_phase,
      deviceTimeoutMs: r.device_timeout_ms,
      force: r.force,
      phases: r.phases,
      devices,
    },
    name: r.name,
    selection: r.selection,
    requestDigest: r.request_digest,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toDevice(r: RawRolloutDevice): RolloutDevice {
  return {
    deviceId: r.device_id,
    phase: r.phase,
    state: r.state,
    assignedRev: r.assigned_rev,
    assignedAt: r.assigned_at?.getTime() ?? null,
    finishedAt: r.finished_at?.getTime() ?? null,
    previousReleaseId: r.previous_release_id,
    reason: r.reason,
    joined: r.joined,
    acceptedBy: r.accepted_by,
    acceptedAt: r.accepted_at?.getTime() ?? null,
    waitingFor: r.waiting_for,
  };
}
