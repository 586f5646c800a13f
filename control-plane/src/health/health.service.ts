import { Injectable } from '@nestjs/common';
import { MqttServer } from '../broker/mqtt-server';
import { UplinkStats } from '../broker/uplink-stats';
import { DevicesService } from '../devices/devices.service';
import { DatabaseProbeRepository } from './database-probe.repository';

/** Body of GET /healthz. Not in @flotilla/shared yet; kept here until a client needs it. */
export interface HealthView {
  status: 'ok' | 'degraded';
  database: 'up' | 'down';
  broker: 'up' | 'down';
  devicesOnline: number | null;
  /** What the broker edge dropped, by reason (the counters of UplinkStats). */
  uplink: ReturnType<UplinkStats['snapshot']>;
}

@Injectable()
export class HealthService {
  constructor(
    private readonly database: DatabaseProbeRepository,
    private readonly mqtt: MqttServer,
    private readonly devices: DevicesService,
    private readonly uplink: UplinkStats,
  ) {}

  async check(): Promise<HealthView> {
    const databaseUp = await this.database.isUp(2000);
    const brokerUp = this.mqtt.listening;
    const devicesOnline = databaseUp ? await this.devices.countOnline().catch(() => null) : null;
    return {
      status: databaseUp && brokerUp ? 'ok' : 'degraded',
      database: databaseUp ? 'up' : 'down',
      broker: brokerUp ? 'up' : 'down',
      devicesOnline,
      uplink: this.uplink.snapshot(),
    };
  }
}
