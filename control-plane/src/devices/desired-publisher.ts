import type { SignedDesired } from '@flotilla/shared';

/**
 * How the devices domain sends a device its `desired` state. The broker module implements it
 * over MQTT; keeping it an interface leaves the services free of any broker.
 */
export interface DesiredPublisher {
  /** Resolves once handed to the broker (QoS 1, not retained); delivery is the broker's job. */
  publishDesired(deviceId: string, desired: SignedDesired): Promise<void>;
}

export const DESIRED_PUBLISHER = Symbol('DesiredPublisher');
