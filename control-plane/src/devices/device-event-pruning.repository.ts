import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DeviceEventEntity } from './device-event.entity';

/**
 * Deletes device events beyond the per-device cap and the retention age. Apart from the append
 * path (DeviceActivityRepository) so that pruning and batching can change independently. Both
 * statements walk indexes (migration 1764540000000), never the whole table.
 */
@Injectable()
export class DeviceEventPruningRepository {
  constructor(@InjectRepository(DeviceEventEntity) private readonly events: Repository<DeviceEventEntity>) {}

  /** Keeps each device's newest `keep` events (by id, the order they were stored in); returns how many were deleted. */
  async deleteBeyondNewest(deviceIds: readonly string[], keep: number): Promise<number> {
    if (deviceIds.length === 0) return 0;
    const rows: { n: number }[] = await this.events.query(PRUNE_BEYOND_NEWEST, [deviceIds, keep]);
    return rows[0]?.n ?? 0;
  }

  async deleteOlderThan(days: number): Promise<number> {
    const rows: { n: number }[] = await this.events.query(PRUNE_OLDER_THAN, [days]);
    return rows[0]?.n ?? 0;
  }
}

/** $1 device ids, $2 events kept per device. Exported for the test that checks its plan uses the indexes. */
export const PRUNE_BEYOND_NEWEST = `
  WITH cut AS (
    SELECT d.id AS device_id,
           (SELECT e.id FROM device_events e WHERE e.device_id = d.id ORDER BY e.id DESC OFFSET $2 LIMIT 1) AS last_deleted
      FROM unnest($1::text[]) AS d(id)
  ), del AS (
    DELETE FROM device_events e USING cut
     WHERE e.device_id = cut.device_id AND e.id <= cut.last_deleted
    RETURNING 1
  )
  SELECT count(*)::int AS n FROM del`;

/** $1 retention in days. */
export const PRUNE_OLDER_THAN = `
  WITH del AS (DELETE FROM device_events WHERE at < now() - make_interval(days => $1) RETURNING 1)
  SELECT count(*)::int AS n FROM del`;
