import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ACTIVE_ROLLOUT_STATUSES, type RolloutSelection, type Reported, type UpdateStatus, type WindowSchedule } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { managerOf, type UnitOfWork } from '../database/unit-of-work';
import type { DeviceReport } from './rollout-state';

export interface SelectedDevice {
  id: string;
  name: string;
  online: boolean;
  desiredReleaseId: string | null;
  reported: Reported | null;
  /** The board spec name it registered with, and the CPU architecture its inventory reports. */
  board: string | null;
  arch: string | null;
  /** From its inventory; null until it reported one. */
  timeZone: string | null;
  /** Its own maintenance windows, else its fleet's. */
  windows: WindowSchedule | null;
}

const ACTIVE = [...ACTIVE_ROLLOUT_STATUSES];

/**
 * Devices matching a selection, as SQL over `devices d` with the selection's fleet, tags and
 * ids at $1..$3. Decommissioned devices are never selected, nor devices pinned to a release:
 * a pin says "this device stays where it is" until someone unpins it.
 */
const IN_SELECTION = `(d.decommissioned_at IS NULL AND d.pinned_release_id IS NULL
  AND ($1::uuid IS NULL OR d.fleet_id = $1)
  AND ($2::text[] IS NULL OR d.tags @> $2)
  AND ($3::text[] IS NULL OR d.id = ANY($3)))`;

function selectionParams(s: RolloutSelection): unknown[] {
  return [s.fleetId ?? null, s.tags?.length ? s.tags : null, s.deviceIds?.length ? s.deviceIds : null];
}

/**
 * The devices a rollout is about, as `devices` holds them: those a selection matches (to plan and
 * create a rollout), and what they last reported (what a pass decides from). Reads only.
 */
@Injectable()
export class RolloutSelectionRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Online devices first, so that a canary is made of devices able to answer; then oldest first. */
  selectDevices(selection: RolloutSelection): Promise<SelectedDevice[]> {
    return this.db
      .query(
        `SELECT d.id, d.name, d.online, d.desired_release_id, d.reported, d.board, d.inventory->>'arch' AS arch,
                d.inventory->>'timeZone' AS time_zone, coalesce(d.update_windows, f.update_windows) AS windows
         FROM devices d LEFT JOIN fleets f ON f.id = d.fleet_id
         WHERE ${IN_SELECTION} ORDER BY d.online DESC, d.created_at, d.id`,
        selectionParams(selection),
      )
      .then(
        (
          rows: {
            id: string;
            name: string;
            online: boolean;
            desired_release_id: string | null;
            reported: Reported | null;
            board: string | null;
            arch: string | null;
            time_zone: string | null;
            windows: WindowSchedule | null;
          }[],
        ) =>
          rows.map((r) => ({
            id: r.id,
            name: r.name,
            online: r.online,
            desiredReleaseId: r.desired_release_id,
            reported: r.reported,
            board: r.board,
            arch: r.arch,
            timeZone: r.time_zone,
            windows: r.windows,
          })),
      );
  }

  /**
   * The ids `selectDevices` gives, in its order, and nothing else: what creating a rollout needs.
   * Its whole reports and inventories, parsed for 10,000 devices, were part of every 10,000-device
   * rollout's time before the first device was told (control-plane/bench/rollout.bench.ts).
   */
  async selectDeviceIds(selection: RolloutSelection): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT d.id FROM devices d WHERE ${IN_SELECTION} ORDER BY d.online DESC, d.created_at, d.id`,
      selectionParams(selection),
    );
    return rows.map((r) => r.id);
  }

  /** Devices of `ids` already part of another rollout still in motion. */
  async devicesInActiveRollouts(ids: readonly string[]): Promise<{ deviceId: string; rolloutId: string }[]> {
    const rows: { device_id: string; rollout_id: string }[] = await this.db.query(
      `SELECT rd.device_id, rd.rollout_id FROM rollout_devices rd JOIN rollouts r ON r.id = rd.rollout_id
       WHERE rd.device_id = ANY($1) AND r.status = ANY($2) LIMIT 20`,
      [ids, ACTIVE],
    );
    return rows.map((r) => ({ deviceId: r.device_id, rolloutId: r.rollout_id }));
  }

  /**
   * What the devices of the rollout, and those now in its selection, last reported. Only the two
   * parts of a report a decision reads (`rev`, `update`): a pass runs after every burst of reports,
   * and the whole report (containers, network, …) of every device, parsed each pass, was a large
   * part of the control plane's CPU during a fan-out (control-plane/bench/rollout.bench.ts).
   */
  async loadReports(uow: UnitOfWork, id: string, selection: RolloutSelection): Promise<Map<string, DeviceReport>> {
    const em = managerOf(uow);
    const rows: {
      id: string;
      desired_rev: number;
      desired_release_id: string | null;
      reported_rev: unknown;
      reported_update: UpdateStatus | null;
      in_selection: boolean;
      rolled_back_rev: number | null;
      rolled_back_reason: string | null;
    }[] = await em.query(
      `SELECT d.id, d.desired_rev, d.desired_release_id, d.reported->'rev' AS reported_rev, d.reported->'update' AS reported_update,
              ${IN_SELECTION} AS in_selection,
              ev.rev AS rolled_back_rev, ev.message AS rolled_back_reason
       FROM devices d
       LEFT JOIN LATERAL (
         SELECT e.rev, e.message FROM device_events e
         WHERE e.device_id = d.id AND e.kind = 'update-rolled-back' AND e.rev IS NOT NULL
         ORDER BY e.rev DESC LIMIT 1
       ) ev ON true
       WHERE ${IN_SELECTION} OR d.id IN (SELECT device_id FROM rollout_devices WHERE rollout_id = $4)`,
      [...selectionParams(selection), id],
    );
    return new Map(
      rows.map((r) => [
        r.id,
        {
          deviceId: r.id,
          inSelection: r.in_selection,
          desiredRev: r.desired_rev,
          desiredReleaseId: r.desired_release_id,
          reportedRev: typeof r.reported_rev === 'number' ? r.reported_rev : null,
          // Reports of agents older than the `update` block carry none: treated as no news.
          update: r.reported_update ?? null,
          rolledBackRev: r.rolled_back_rev,
          rolledBackReason: r.rolled_back_reason,
        },
      ]),
    );
  }
}
