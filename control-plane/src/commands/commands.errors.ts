import { ConflictError, TimeoutError } from '../domain-error';

export class DeviceOfflineError extends ConflictError {
  constructor(deviceId: string) {
    super('device_offline', `device ${deviceId} is not connected; commands are not queued, send it again once the device is online`);
  }
}

export class CommandTimeoutError extends TimeoutError {
  constructor(deviceId: string, name: string, timeoutMs: number) {
    super(
      'command_timeout',
      `device ${deviceId} did not answer command "${name}" within ${timeoutMs} ms; it may still run it: check the device's events`,
    );
  }
}
