import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { DeviceEvent } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { CoalescedWrites } from './coalesced-writes';
import { DeviceEventEntity } from './device-event.entity';

/** Append-only history a device sends: lifecycle events. (Telemetry goes through `TelemetryIngest`, in batches.) */
@Injectable()
export class DeviceActivityRepository {
  /**
   * Coalesced: 10,000 devices committing a rollout send their events within seconds, and one
   * INSERT each filled the pool until messages were dropped on acquire timeouts
   * (control-plane/bench/rollout.bench.ts). Rows go in in the order received (the id orders
   * events of the same instant). An event of a device deleted meanwhile is skipped rather than
   * failing its whole batch on the foreign key.
   */
  private readonly appends = new CoalescedWrites<{ deviceId: string; event: DeviceEvent }>(async (batch) => {
    await this.events.query(
      `INSERT INTO device_events (device_id, at, kind, rev, message)
       SELECT e.device_id, e.at, e.kind, e.rev, e.message
         FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::int[], $5::text[]) WITH ORDINALITY AS e(device_id, at, kind, rev, message, n)
        WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = e.device_id)
        ORDER BY e.n`,
      [
        batch.map((b) => b.deviceId),
        batch.map((b) => b.event.at),
        batch.map((b) => b.event.kind),
        batch.map((b) => b.event.rev ?? null),
        batch.map((b) => b.event.message),
      ],
    );
  });

  constructor(@InjectRepository(DeviceEventEntity) private readonly events: Repository<DeviceEventEntity>) {}

  appendEvent(deviceId: string, event: DeviceEvent): Promise<void> {
    return this.appends.add({ deviceId, event });
  }
}
