import type { FleetView } from '@flotilla/shared';
import type { FleetRecord } from './fleet.repository';

export function toFleetView({ fleet, deviceCount }: FleetRecord): FleetView {
  return {
    id: fleet.id,
    name: fleet.name,
    boards: fleet.boards,
    config: fleet.config,
    targetReleaseId: fleet.targetReleaseId,
    certificateValiditySeconds: fleet.certificateValiditySeconds,
    lockMaxDeferSeconds: fleet.lockMaxDeferSeconds,
    windows: fleet.windows,
    deviceCount,
    createdAt: fleet.createdAt.toISOString(),
  };
}
