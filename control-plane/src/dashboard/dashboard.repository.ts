import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { STATUS_SQL, deviceListSql, type DeviceStatus } from './device-query';
import type { DashboardDevicePage, DashboardDeviceQuery, DashboardOverview, DeviceEventView } from '@flotilla/shared';

type Row = Record<string, unknown>;

/** Read-only SQL behind the dashboard's pages: one round trip per page. */
@Injectable()
export class DashboardRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async devices(query: DashboardDeviceQuery): Promise<DashboardDevicePage> {
    const { where, params, order } = deviceListSql(query);
    const limit = `$${params.length + 1}`;
    const offset = `$${params.length + 2}`;
    // count(*) OVER () gives the total with the page, without a second scan.
    const rows = (await this.db.query(
      `SELECT d.id, d.name, d.board, d.online, d.last_seen_at, d.fleet_id, d.tags, d.desired_rev, d.desired_release_id,
              d.decommissioned_at, d.reported->'update' AS update, r.version AS release_version, (${STATUS_SQL.failed}) AS failed,
              count(*) OVER () AS total
         FROM devices d
         LEFT JOIN releases r ON r.id::text = d.reported->'update'->'active'->>'releaseId'
        WHERE ${where}
        ORDER BY ${order}
        LIMIT ${limit} OFFSET ${offset}`,
      [...params, query.limit, query.offset],
    )) as Row[];
    const total = rows[0] ? Number(rows[0].total) : query.offset > 0 ? await this.count(where, params) : 0;
    return {
      total,
      offset: query.offset,
      limit: query.limit,
      items: rows.map((r) => {
        const update = (r.update as { phase?: string; active?: { releaseId?: string } | null; lastFailure?: string | null } | null) ?? null;
        return {
          id: r.id as string,
          name: r.name as string,
          board: (r.board as string | null) ?? null,
          online: r.online as boolean,
          lastSeenAt: r.last_seen_at ? (r.last_seen_at as Date).toISOString() : null,
          fleetId: (r.fleet_id as string | null) ?? null,
          tags: (r.tags as string[] | null) ?? [],
          updatePhase: update?.phase ?? null,
          releaseId: update?.active?.releaseId ?? null,
          releaseVersion: (r.release_version as string | null) ?? null,
          desiredReleaseId: (r.desired_release_id as string | null) ?? null,
          lastFailure: update?.lastFailure ?? null,
          failed: r.failed === true,
          decommissioned: r.decommissioned_at !== null,
        };
      }),
    };
  }

  private async count(where: string, params: unknown[]): Promise<number> {
    const [row] = (await this.db.query(`SELECT count(*) AS n FROM devices d WHERE ${where}`, params)) as Row[];
    return Number(row?.n ?? 0);
  }

  async overview(): Promise<DashboardOverview> {
    const statuses: DeviceStatus[] = ['online', 'offline', 'updating', 'failed'];
    const [counts] = (await this.db.query(
      `SELECT count(*) FILTER (WHERE d.decommissioned_at IS NULL) AS total,
              ${statuses.map((s) => `count(*) FILTER (WHERE ${STATUS_SQL[s]}) AS ${s}`).join(',\n              ')}
         FROM devices d`,
    )) as Row[];
    const spread = (await this.db.query(
      `SELECT d.reported->'update'->'active'->>'releaseId' AS release_id, r.name, r.version, count(*) AS devices
         FROM devices d
         LEFT JOIN releases r ON r.id::text = d.reported->'update'->'active'->>'releaseId'
        WHERE d.decommissioned_at IS NULL
        GROUP BY 1, 2, 3
        ORDER BY devices DESC
        LIMIT 20`,
    )) as Row[];
    return {
      devices: {
        total: Number(counts?.total ?? 0),
        online: Number(counts?.online ?? 0),
        offline: Number(counts?.offline ?? 0),
        updating: Number(counts?.updating ?? 0),
        failed: Number(counts?.failed ?? 0),
      },
      releases: spread.map((r) => ({
        releaseId: (r.release_id as string | null) ?? null,
        label: r.release_id ? `${String(r.name ?? '?')} ${String(r.version ?? (r.release_id as string).slice(0, 8))}` : 'none',
        devices: Number(r.devices),
      })),
    };
  }

  /** Newest first. */
  /** A device's latest events, newest first; undefined when there is no such device (a 404, as on its sibling routes). */
  async events(deviceId: string, limit: number): Promise<DeviceEventView[] | undefined> {
    const rows = (await this.db.query(
      `SELECT e.at, e.kind, e.rev, e.message FROM devices d
       LEFT JOIN LATERAL (SELECT at, kind, rev, message, id FROM device_events WHERE device_id = d.id ORDER BY at DESC, id DESC LIMIT $2) e ON true
       WHERE d.id = $1 ORDER BY e.at DESC, e.id DESC`,
      [deviceId, limit],
    )) as Row[];
    if (rows.length === 0) return undefined;
    return rows
      .filter((r) => r.at !== null)
      .map((r) => ({
        at: (r.at as Date).toISOString(),
        kind: r.kind as string,
        rev: (r.rev as number | null) ?? null,
        message: r.message as string,
      }));
  }
}
