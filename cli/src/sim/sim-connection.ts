import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { isServerBusy, type ReconnectSchedule } from '@flotilla/shared';
import type { SimDeviceOptions } from './sim-device-options';

/** Reconnects by the shared schedule, as the agent's link does, rather than at a fixed period. */
export function isPaced(options: Pick<SimDeviceOptions, 'reconnect' | 'reconnectPeriodMs'>): boolean {
  return options.reconnect !== undefined && options.reconnectPeriodMs === undefined;
}

/** The MQTT client options of a simulated device. */
export function simClientOptions(
  options: Pick<SimDeviceOptions, 'deviceId' | 'password' | 'tls' | 'persistentSession' | 'reconnect' | 'reconnectPeriodMs'>,
): IClientOptions {
  const { deviceId, password, tls } = options;
  const paced = isPaced(options);
  return {
    clientId: deviceId,
    ...(password ? { username: deviceId, password } : {}),
    ...(tls ? { ca: tls.ca, rejectUnauthorized: true, ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) } : {}),
    protocolVersion: 4,
    clean: !options.persistentSession,
    // Paced reconnects are timed by the device (onClose), a fixed period by mqtt.js.
    reconnectPeriod: paced ? 0 : (options.reconnectPeriodMs ?? 0),
    // A broker that answers "server unavailable" (its database busy in a reconnect storm)
    // must be retried; by default mqtt.js gives up for good after a refused CONNACK.
    reconnectOnConnackError: !paced && (options.reconnectPeriodMs ?? 0) > 0,
    connectTimeout: 30_000,
  };
}

/**
 * The first connect, tried `connectAttempts` times (default 1): a refused or timed-out connect
 * (e.g. "server unavailable" during a connect storm) is retried when the schedule says, as an
 * agent does. `failed` counts each failure but the last.
 */
export async function connectSimDevice(options: SimDeviceOptions, schedule: ReconnectSchedule, failed: () => void): Promise<MqttClient> {
  const attempts = options.connectAttempts ?? 1;
  for (let attempt = 1; ; attempt++) {
    try {
      // Without `false`, mqtt.js keeps retrying a refused first connect by itself and never rejects.
      return await connectAsync(options.mqttUrl, simClientOptions(options), false);
    } catch (e) {
      if (attempt >= attempts) throw e;
      failed();
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'number' && isServerBusy(code)) schedule.serverBusy();
      await new Promise((resolve) => setTimeout(resolve, schedule.closed(performance.now())));
    }
  }
}
