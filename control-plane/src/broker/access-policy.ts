import { deviceMaySubscribe, devicePublishChannel, isValidDeviceId, MAX_PAYLOAD_BYTES, type DeviceChannel } from '@flotilla/shared';

/** `code` labels the refusal on `/metrics`; `reason` says it to a person. */
export type Decision = { allowed: true } | { allowed: false; code: string; reason: string };

const ALLOWED: Decision = { allowed: true };

/** A publish allowed names its channel: the gate after the policy needs it, and the topic is parsed once. */
export type PublishDecision = { allowed: true; channel: DeviceChannel } | Extract<Decision, { allowed: false }>;

/**
 * What an authenticated device (MQTT client id = device id) may publish. Retained messages
 * are refused: the database is the source of truth, and aedes scans every retained message
 * on each SUBSCRIBE (docs/architecture.md, "Measured facts"), so a fleet's worth would slow every reconnect.
 */
export function publishDecision(deviceId: string, topic: string, retain: boolean, payloadBytes: number): PublishDecision {
  const channel = devicePublishChannel(deviceId, topic);
  if (channel === undefined) return { allowed: false, code: 'acl', reason: `may not publish to ${topic}` };
  if (retain) return { allowed: false, code: 'retained', reason: 'retained messages are not accepted' };
  if (payloadBytes > MAX_PAYLOAD_BYTES) {
    return { allowed: false, code: 'oversized', reason: `payload of ${payloadBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}` };
  }
  return { allowed: true, channel };
}

/**
 * Protocol v1 uses QoS 0 and 1 only (docs/architecture.md). A QoS 2 publish is refused before aedes
 * stores it: aedes keeps every QoS 2 message it received until the client's PUBREL, per client id
 * and across `clean: false` reconnects (MQTT 3.1.1 section 4.3.3), so a device that never sends PUBREL could
 * otherwise make the broker hold up to 65,535 payloads per reconnect cycle.
 */
export function qosDecision(qos: number): Decision {
  return qos <= 1 ? ALLOWED : { allowed: false, code: 'qos2', reason: 'QoS 2 is not part of the protocol (QoS 0 and 1 only)' };
}

/** A QoS 2 subscription is kept as QoS 1 (MQTT 3.1.1 section 3.8.4 lets a server grant less): nothing the control plane sends needs more. */
export function grantedQos(requested: number): 0 | 1 {
  return requested === 0 ? 0 : 1;
}

export function subscribeDecision(deviceId: string, topicFilter: string): Decision {
  return deviceMaySubscribe(deviceId, topicFilter)
    ? ALLOWED
    : { allowed: false, code: 'acl', reason: `may not subscribe to ${topicFilter}` };
}

/** MQTT CONNACK return codes of 3.1.1 (section 3.2.2.3) that authentication uses. */
export const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

export type ConnectDecision =
  | { accepted: true; deviceId: string; password: string }
  | { accepted: false; returnCode: number; code: 'no-credentials' | 'client-id-mismatch' | 'malformed-id'; reason: string };

/**
 * A device connects with username = its device id and client id = the same id. Tying the
 * client id to the identity stops one device from taking over another's session, which
 * MQTT otherwise allows to anyone reusing a client id [MQTT-3.1.4-2].
 */
export function connectDecision(clientId: string, username: string | undefined, password: Uint8Array | undefined): ConnectDecision {
  if (!username || !password || password.length === 0) {
    return { accepted: false, returnCode: CONNACK.BAD_USERNAME_OR_PASSWORD, code: 'no-credentials', reason: 'no username or password' };
  }
  if (clientId !== username) {
    return {
      accepted: false,
      returnCode: CONNACK.IDENTIFIER_REJECTED,
      code: 'client-id-mismatch',
      reason: `client id "${clientId}" is not the device id "${username}"`,
    };
  }
  // No device can have such an id: answered without a database query.
  if (!isValidDeviceId(username)) {
    return { accepted: false, returnCode: CONNACK.IDENTIFIER_REJECTED, code: 'malformed-id', reason: 'not a device id' };
  }
  return { accepted: true, deviceId: username, password: Buffer.from(password).toString('utf8') };
}
