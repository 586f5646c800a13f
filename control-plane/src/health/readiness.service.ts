import { Injectable } from '@nestjs/common';
import { MqttServer } from '../broker/mqtt-server';
import { DatabaseProbeRepository } from './database-probe.repository';

export interface ReadinessView {
  ready: boolean;
  database: 'up' | 'down';
  migrations: 'done' | 'pending' | 'unknown';
  broker: 'up' | 'down';
}

/** Whether this replica should get traffic: database reachable, schema migrated, broker listening. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly database: DatabaseProbeRepository,
    private readonly mqtt: MqttServer,
  ) {}

  async check(): Promise<ReadinessView> {
    const databaseUp = await this.database.isUp(2000);
    const migrations = databaseUp
      ? await this.database.migrationsPending().then(
          (pending) => (pending ? 'pending' : 'done'),
          () => 'unknown' as const,
        )
      : 'unknown';
    const brokerUp = this.mqtt.listening;
    return {
      ready: databaseUp && brokerUp && migrations === 'done',
      database: databaseUp ? 'up' : 'down',
      migrations,
      broker: brokerUp ? 'up' : 'down',
    };
  }
}
