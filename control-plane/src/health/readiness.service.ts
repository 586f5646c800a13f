import { Inject, Injectable } from '@nestjs/common';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { DatabaseProbeRepository } from './database-probe.repository';

export interface ReadinessView {
  ready: boolean;
  database: 'up' | 'down';
  migrations: 'done' | 'pending' | 'unknown';
  broker: 'up' | 'down';
}

/** Whether this replica should get traffic: database reachable, schema migrated, broker up (embedded: listening; external: connected, a majority of nodes running). */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly database: DatabaseProbeRepository,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
  ) {}

  async check(): Promise<ReadinessView> {
    const databaseUp = await this.database.isUp();
    const migrations = databaseUp ? await this.database.migrations() : 'unknown';
    const brokerUp = this.broker.status().up;
    return {
      ready: databaseUp && brokerUp && migrations === 'done',
      database: databaseUp ? 'up' : 'down',
      migrations,
      broker: brokerUp ? 'up' : 'down',
    };
  }
}
