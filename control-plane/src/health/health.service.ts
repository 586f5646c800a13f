import { Inject, Injectable } from '@nestjs/common';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
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
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
  ) {}

  async check(): Promise<HealthView> {
    const databaseUp = await this.database.isUp();
    const brokerUp = this.broker.status().up;
    return {
      status: databaseUp && brokerUp ? 'ok' : 'degraded',
      database: databaseUp ? 'up' : 'down',
      broker: brokerUp ? 'up' : 'down',
    };
  }
}
