import { Inject, Injectable } from '@nestjs/common';
import { deviceTopic, encodePayload, type SignedDesired } from '@flotilla/shared';
import type { Aedes } from 'aedes';
import type { DesiredPublisher } from '../devices/desired-publisher';
import { AEDES } from './mqtt-server';

/** Publishes from inside the broker process: no MQTT client, no loopback connection. */
@Injectable()
export class AedesDesiredPublisher implements DesiredPublisher {
  constructor(@Inject(AEDES) private readonly broker: Aedes) {}

  publishDesired(deviceId: string, desired: SignedDesired): Promise<void> {
    const packet = {
      cmd: 'publish' as const,
      topic: deviceTopic(deviceId, 'desired'),
      payload: Buffer.from(encodePayload('desired', desired)),
      qos: 1 as const,
      // Never retained: a device asks for its desired state after connecting (docs/architecture.md).
      retain: false,
      dup: false,
    };
    return new Promise((resolve, reject) => this.broker.publish(packet, (err) => (err ? reject(err) : resolve())));
  }
}
