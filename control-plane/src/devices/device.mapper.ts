import { PROTOCOL_SCHEMA, type Desired, type DeviceView, type Release } from '@flotilla/shared';
import type { DeviceEntity } from './device.entity';

export function toDeviceView(row: DeviceEntity): DeviceView {
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
  };
}

/** Device configuration is not modelled yet, so every desired state carries an empty one. */
export function desiredMessage(rev: number, release: Release | null): Desired {
  return { schema: PROTOCOL_SCHEMA, rev, release, config: {} };
}
