import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { RecordedEvent } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { RejectedWrites } from '../database/rejected-writes';
import { writeAlone } from '../database/write-alone';
import { CoalescedWrites } from './coalesced-writes';
import { DeviceEventEntity } from './device-event.entity';

export interface EventRow {
  deviceId: string;
  event: RecordedEvent;
}

/** Append-only history a device sends: lifecycle events. (Telemetry goes through `TelemetryIngest`, in batches.) */
@Injectable()
export class DeviceActivityRepository {
  /**
   * Coalesced: 10,000 devices committing a rollout send their events within seconds, and one
   * INSERT each filled the pool until messages were dropped on acquire timeouts
   * (control-plane/bench/rollout.bench.ts). Written with `writeAlone`: a row the database refuses
   * is dropped alone (and recorded), a transient error retried.
   */
  private readonly appends = new CoalescedWrites<EventRow>((batch) =>
    writeAlone(batch, (rows) => this.insertMany(rows), {
      rejected: (row, error) => this.rejected.record(row.deviceId, 'event', error),
      refused: (rows, reason, error) => this.rejected.refused('event', rows.length, reason, error),
    }),
  );

  constructor(
    @InjectRepository(DeviceEventEntity) private readonly events: Repository<DeviceEventEntity>,
    private readonly rejected: RejectedWrites,
  ) {}

  /**
   * An event without an id (an agent older than event ids) gets one here, on receipt: a batch
   * retried after its commit reply was lost then finds its rows and stores none twice. (A copy
   * of such an event delivered again, as a new message, cannot be told from a new event.)
   */
  appendEvent(deviceId: string, event: RecordedEvent): Promise<void> {
    return this.appends.add({ deviceId, event: event.id ? event : { ...event, id: randomUUID() } });
  }

  /**
   * One statement, all or nothing. Rows go in by device id, and in the order received within a
   * device (the id orders events of the same instant): the foreign key's share locks on `devices`
   * are then taken in the same order as every other batch takes its locks there. An event of a
   * device deleted meanwhile is skipped rather than failing the statement on the foreign key; an
   * event whose id the device already has a row for (a copy, in this batch or stored before) is
   * skipped too, so a retry or a redelivery stores nothing twice.
   */
  async insertMany(rows: readonly EventRow[]): Promise<void> {
    await this.events.query(
      `INSERT INTO device_events (device_id, event_id, at, kind, rev, message)
       SELECT e.device_id, e.event_id, e.at, e.kind, e.rev, e.message
         FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::text[], $5::int[], $6::text[])
              WITH ORDINALITY AS e(device_id, event_id, at, kind, rev, message, n)
        WHERE EXISTS (SELECT 1 FROM devices d WHERE d.id = e.device_id)
        ORDER BY e.device_id COLLATE "C", e.n
       ON CONFLICT (device_id, event_id) WHERE event_id IS NOT NULL DO NOTHING`,
      [
        rows.map((b) => b.deviceId),
        rows.map((b) => b.event.id ?? null),
        rows.map((b) => b.event.at),
        rows.map((b) => b.event.kind),
        rows.map((b) => b.event.rev ?? null),
        rows.map((b) => b.event.message),
      ],
    );
  }
}
