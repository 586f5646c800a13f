import { UPDATE_PHASES, type ConfigMap, type DeviceView, type RegistryAuth, type Release, type UpdatePolicy } from '@flotilla/shared';
import type { DesiredContent } from '../signing/desired-sealer';
import { effectiveConfig } from './device-config';
import type { DesiredPointer, DeviceRecord } from './device-record.repository';

export function toDeviceView({ device: row, fleetConfig, lastEvent }: DeviceRecord): DeviceView {
  const phase = row.reported?.update?.phase;
  return {
    id: row.id,
    name: row.name,
    board: row.board,
    online: row.online,
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    desired: { rev: row.desiredRev, releaseId: row.desiredReleaseId },
    reported: row.reported,
    inventory: row.inventory,
    fleetId: row.fleetId,
    tags: row.tags,
    pinnedReleaseId: row.pinnedReleaseId,
    config: row.config,
    effectiveConfig: effectiveConfig(fleetConfig, row.config),
    // A report stored by an older agent may lack the update block or carry an unknown phase.
    updatePhase: phase && (UPDATE_PHASES as readonly string[]).includes(phase) ? phase : null,
    lastEvent: lastEvent ? { at: lastEvent.at.toISOString(), kind: lastEvent.kind, rev: lastEvent.rev, message: lastEvent.message } : null,
    decommissionedAt: row.decommissionedAt?.toISOString() ?? null,
  };
}

/** `desired.updatePolicy` from the device's override and its fleet's longest lock deferral; empty when neither is set. */
export function updatePolicyOf(pointer: Pick<DesiredPointer, 'force' | 'lockMaxDeferSeconds' | 'windows'>): UpdatePolicy {
  return {
    ...(pointer.force ? { force: true } : {}),
    ...(pointer.lockMaxDeferSeconds !== null ? { lockMaxDeferSeconds: pointer.lockMaxDeferSeconds } : {}),
    ...(pointer.windows && pointer.windows.length > 0 ? { windows: pointer.windows } : {}),
  };
}

/** What a device should run, before the signing service adds who signed it, when, and the key chain. */
export type { DesiredContent };

/**
 * `registryAuth`: the logins of the registries the release pulls from; left out when there are none.
 * `updatePolicy`: the operator's lock override and the fleet's longest deferral, inside what is signed.
 */
export function desiredContent(
  deviceId: string,
  pointer: DesiredPointer,
  release: Release | null,
  config: ConfigMap,
  registryAuth: RegistryAuth[] = [],
): DesiredContent {
  const updatePolicy = updatePolicyOf(pointer);
  return {
    deviceId,
    rev: pointer.desiredRev,
    release,
    releaseCreatedAt: release ? (pointer.releaseCreatedAt?.toISOString() ?? null) : null,
    rollback: release !== null && pointer.rollback,
    config,
    ...(registryAuth.length > 0 ? { registryAuth } : {}),
    ...(Object.keys(updatePolicy).length > 0 ? { updatePolicy } : {}),
  };
}
