import { decodePayload, type SignedDesired } from '@flotilla/shared';
import type { DeviceBroker } from '../broker/device-broker';
import { strictFake } from './strict-fake';

/** A device broker for unit tests of the services: hands each published `desired` (decoded) to `publish`; no device is connected. */
export function desiredRecorder(publish: (deviceId: string, desired: SignedDesired) => Promise<void>): DeviceBroker {
  return strictFake<DeviceBroker>('DeviceBroker', {
    publishToDevice: async (deviceId, channel, payload) => {
      if (channel !== 'desired') throw new Error(`unexpected ${channel} to ${deviceId}`);
      const decoded = decodePayload('desired', payload);
      if (!decoded.ok) throw new Error(`invalid desired for ${deviceId}: ${decoded.reason}`);
      await publish(deviceId, decoded.value);
    },
    disconnect: async () => false,
  });
}
