import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { DeviceEvent, Telemetry } from '@flotilla/shared';
import { Repository } from 'typeorm';
import { DeviceEventEntity } from './device-event.entity';
import { TelemetrySampleEntity } from './telemetry-sample.entity';

/** Append-only history a device sends: lifecycle events and telemetry samples. */
@Injectable()
export class DeviceActivityRepository {
  constructor(
    @InjectRepository(DeviceEventEntity) private readonly events: Repository<DeviceEventEntity>,
    @InjectRepository(TelemetrySampleEntity) private readonly samples: Repository<TelemetrySampleEntity>,
  ) {}

  async appendEvent(deviceId: string, event: DeviceEvent): Promise<void> {
    await this.events.insert({ deviceId, at: new Date(event.at), kind: event.kind, rev: event.rev ?? null, message: event.message });
  }

  async appendTelemetry(deviceId: string, telemetry: Telemetry): Promise<void> {
    await this.samples.insert(
      telemetry.samples.map((s) => ({
        deviceId,
        at: new Date(s.at),
        cpuPercent: s.cpuPercent,
        memUsedBytes: String(Math.round(s.memUsedBytes)),
        memTotalBytes: String(Math.round(s.memTotalBytes)),
        temperatureC: s.temperatureC ?? null,
      })),
    );
  }
}
