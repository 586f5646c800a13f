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

export class NothingOnTrialError extends ConflictError {
  constructor(deviceId: string, phase: string | null) {
    super(
      'nothing_on_trial',
      `device ${deviceId} reports no update on trial to roll back (update phase: ${phase ?? 'not reported yet'}); ` +
        'roll back a device while its update is being tried, or assign the release it should run',
    );
  }
}
