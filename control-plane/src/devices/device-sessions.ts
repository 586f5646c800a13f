/**
 * How the devices domain ends a device's live connection (decommissioning). The broker module
 * implements it; the device cannot reconnect because its credential is revoked first.
 */
export interface DeviceSessions {
  /** Closes the device's connection if it has one; true when one was closed. */
  disconnect(deviceId: string): boolean;
}

export const DEVICE_SESSIONS = Symbol('DeviceSessions');
