import { deviceMayPublish, deviceMaySubscribe, MAX_PAYLOAD_BYTES } from '@flotilla/shared';

export type Decision = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: Decision = { allowed: true };

/**
 * What an authenticated device (MQTT client id = device id) may publish. Retained messages
 * are refused: the database is the source of truth, and aedes scans every retained message
 * on each SUBSCRIBE (FINDINGS.md), so a fleet's worth would slow every reconnect.
 */
export function publishDecision(deviceId: string, topic: string, retain: boolean, payloadBytes: number): Decision {
  if (!deviceMayPublish(deviceId, topic)) return { allowed: false, reason: `may not publish to ${topic}` };
  if (retain) return { allowed: false, reason: 'retained messages are not accepted' };
  if (payloadBytes > MAX_PAYLOAD_BYTES) return { allowed: false, reason: `payload of ${payloadBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
  return ALLOWED;
}

export function subscribeDecision(deviceId: string, topicFilter: string): Decision {
  return deviceMaySubscribe(deviceId, topicFilter) ? ALLOWED : { allowed: false, reason: `may not subscribe to ${topicFilter}` };
}

/** MQTT CONNACK return codes of 3.1.1 (section 3.2.2.3) that authentication uses. */
export const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USERNAME_OR_PASSWORD: 4 } as const;

export type ConnectDecision =
  { accepted: true; deviceId: string; password: string } | { accepted: false; returnCode: number; reason: string };

/**
 * A device connects with username = its device id and client id = the same id. Tying the
 * client id to the identity stops one device from taking over another's session, which
 * MQTT otherwise allows to anyone reusing a client id [MQTT-3.1.4-2].
 */
export function connectDecision(clientId: string, username: string | undefined, password: Uint8Array | undefined): ConnectDecision {
  if (!username || !password || password.length === 0) {
    return { accepted: false, returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD, reason: 'no username or password' };
  }
  if (clientId !== username) {
    return {
      accepted: false,
      returnCode: CONNACK.IDENTIFIER_REJECTED,
      reason: `client id "${clientId}" is not the device id "${username}"`,
    };
  }
  return { accepted: true, deviceId: username, password: Buffer.from(password).toString('utf8') };
}
