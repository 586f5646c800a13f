import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { DeviceEvent } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { DeviceEventEntity } from './device-event.entity';

/** Append-only history a device sends: lifecycle events. (Telemetry goes through `TelemetryIngest`, in batches.) */
@Injectable()
export class DeviceActivityRepository {
  constructor(@InjectRepository(DeviceEventEntity) private readonly events: Repository<DeviceEventEntity>) {}

  async appendEvent(deviceId: string, event: DeviceEvent): Promise<void> {
    await this.events.insert({ deviceId, at: new Date(event.at), kind: event.kind, rev: event.rev ?? null, message: event.message });
  }
}
