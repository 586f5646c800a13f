import { Inject, Injectable } from '@nestjs/common';
import type { Aedes } from 'aedes';
import type { DeviceSessions } from '../devices/device-sessions';
import { AEDES } from './mqtt-server';
import { clientOf } from './sessions';

/** Ends device connections inside the broker (a device's client id is its device id). */
@Injectable()
export class AedesDeviceSessions implements DeviceSessions {
  constructor(@Inject(AEDES) private readonly broker: Aedes) {}

  disconnect(deviceId: string): boolean {
    const client = clientOf(this.broker, deviceId);
    if (!client || client.closed) return false;
    client.close();
    return true;
  }
}
