import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ConfigMap, DeviceListQuery, WindowSchedule } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { CURSOR_AT_SQL, DEVICE_LIST_ORDER, deviceListWhere, type DeviceListPosition } from './device-list-query';
import { desiredStateFromRow, desiredStateSelect } from './desired-state-rows';
import { deviceFromRow, type Row } from './device-rows';
import { DeviceEntity } from './device.entity';

export interface DesiredPointer {
  desiredRev: number;
  desiredReleaseId: string | null;
  /** Fleet configuration ⊕ device overrides, not yet merged. */
  fleetConfig: ConfigMap | null;
  deviceConfig: ConfigMap;
  /** When the desired release was created; null without one. */
  releaseCreatedAt: Date | null;
  /** The desired release is older than one assigned to the device before: a signed rollback. */
  rollback: boolean;
  /** Who may receive which registry secret depends on these (`RegistriesService.lookup`). */
  fleetId: string | null;
  registeredByAdmin: boolean;
  /** `desired.updatePolicy`: the operator's override of the device's update locks, and the fleet's longest deferral. */
  force: boolean;
  lockMaxDeferSeconds: number | null;
  /** The device's own maintenance windows, else its fleet's; null: none. */
  windows: WindowSchedule | null;
}

export interface DesiredState extends DesiredPointer {
  deviceId: string;
}

export interface LastEvent {
  at: Date;
  kind: string;
  rev: number | null;
  message: string;
}

/** A device row with what its view needs from around it. */
export interface DeviceRecord {
  device: DeviceEntity;
  fleetConfig: ConfigMap | null;
  lastEvent: LastEvent | null;
}

/** A record with where it stands in the device list's order (`DeviceListPosition`). */
export interface ListedDeviceRecord extends DeviceRecord {
  position: DeviceListPosition;
}

/** `from` is `devices` or a subquery of its rows, aliased `d`. */
const recordSelect = (from = 'devices') => `
  SELECT d.*, f.config AS fleet_config,
         e.at AS event_at, e.kind AS event_kind, e.rev AS event_rev, e.message AS event_message
    FROM ${from} d
    LEFT JOIN fleets f ON f.id = d.fleet_id
    LEFT JOIN LATERAL (
      SELECT at, kind, rev, message FROM device_events WHERE device_id = d.id ORDER BY at DESC, id DESC LIMIT 1
    ) e ON true`;

/**
 * Reads of `devices`: a device with what its view needs (its fleet's configuration, its last
 * event), the device list's pages, and the pointers desired states are built from.
 * Decommissioned devices have no desired state.
 */
@Injectable()
export class DeviceRecordRepository {
  constructor(@InjectRepository(DeviceEntity) private readonly devices: Repository<DeviceEntity>) {}

  async findRecord(id: string): Promise<DeviceRecord | undefined> {
    const rows = (await this.devices.query(`${recordSelect()} WHERE d.id = $1`, [id])) as Row[];
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Up to `limit` devices after `after`, oldest first. The page is chosen first and only its
   * rows get their fleet and last event, so a page costs the same at 10,000 devices as at 10.
   */
  async listPage(filter: DeviceListQuery, limit: number, after?: DeviceListPosition): Promise<ListedDeviceRecord[]> {
    const { where, params } = deviceListWhere(filter, after);
    const page = `(SELECT d.*, ${CURSOR_AT_SQL} AS cursor_at FROM devices d ${where} ORDER BY ${DEVICE_LIST_ORDER} LIMIT $${params.length + 1})`;
    const rows = (await this.devices.query(`${recordSelect(page)} ORDER BY ${DEVICE_LIST_ORDER}`, [...params, limit])) as Row[];
    return rows.map((r) => ({ ...toRecord(r), position: { createdAt: r.cursor_at as string, id: r.id as string } }));
  }

  async findDesiredPointer(id: string): Promise<DesiredPointer | undefined> {
    return (await this.findDesiredStates([id]))[0];
  }

  async findDesiredStates(ids: readonly string[]): Promise<DesiredState[]> {
    if (ids.length === 0) return [];
    const rows = (await this.devices.query(`${desiredStateSelect()} WHERE d.id = ANY($1::text[]) AND d.decommissioned_at IS NULL`, [
      ids,
    ])) as Row[];
    return rows.map(desiredStateFromRow);
  }

  countOnline(): Promise<number> {
    return this.devices.countBy({ online: true });
  }
}

function toRecord(raw: Row): DeviceRecord {
  return {
    device: deviceFromRow(raw),
    fleetConfig: (raw.fleet_config as ConfigMap | null) ?? null,
    lastEvent: raw.event_at
      ? {
          at: raw.event_at as Date,
          kind: raw.event_kind as string,
          rev: raw.event_rev as number | null,
          message: raw.event_message as string,
        }
      : null,
  };
}
