import { Injectable } from '@nestjs/common';
import { MqttServer } from '../broker/mqtt-server';
import { DatabaseProbeRepository } from './database-probe.repository';

/**
 * Body of GET /healthz, which needs no key: whether this process can serve, and nothing about
 * the fleet. Device and broker figures are on /metrics, which does.
 */
export interface HealthView {
  status: 'ok' | 'degraded';
  database: 'up' | 'down';
  broker: 'up' | 'down';
}

@Injectable()
export class HealthService {
  constructor(
    private readonly database: DatabaseProbeRepository,
    private readonly mqtt: MqttServer,
  ) {}

  async check(): Promise<HealthView> {
    const databaseUp = await this.database.isUp(2000);
    const brokerUp = this.mqtt.listening;
    return {
      status: databaseUp && brokerUp ? 'ok' : 'degraded',
      database: databaseUp ? 'up' : 'down',
      broker: brokerUp ? 'up' : 'down',
    };
  }
}
