import type { Aedes, Client } from 'aedes';

/** The connected client of `deviceId` (client id = device id). aedes keeps its client table as an untyped field; this is the one place that reads it. */
export function clientOf(broker: Aedes, deviceId: string): Client | undefined {
  return (broker as unknown as { clients: Record<string, Client | undefined> }).clients[deviceId];
}

/** The source address of a client's connection, as the per-address limits key it. */
export function remoteAddressOf(client: Client): string {
  return (client.conn as { remoteAddress?: string }).remoteAddress ?? 'unknown';
}

/** Whether a connected client session exists for `deviceId`, other than `except`. */
export function hasLiveSession(broker: Aedes, deviceId: string, except?: Client): boolean {
  const client = clientOf(broker, deviceId);
  return client !== undefined && client !== except && client.connected && !client.closed;
}

/** What `deliversDirectly` looks at in an aedes client (its subscriptions are an untyped field, keyed by topic filter). */
export interface DirectSession {
  connected: boolean;
  closed: boolean;
  subscriptions?: Record<string, { qos?: number } | undefined>;
}

/**
 * Whether a message on `topic` (a device's own downlink topic, exactly as the device subscribes to
 * it) can be handed to the device's own connected client instead of being matched against every
 * subscription in the broker. Only the device may subscribe to its own topics (access-policy.ts),
 * so when its live client holds that exact subscription it is the message's only recipient, and
 * aedes' per-client path (`client.publish`: kept in the session until PUBACK, a packet id, written,
 * resolved once the socket took it) is what the matching would have reached. Otherwise (not
 * connected here, not subscribed yet) the broker's own publish decides, as before. A subscription
 * at QoS 0 too: the client's path would keep the message for a PUBACK that never comes. Pure.
 */
export function deliversDirectly(session: DirectSession | undefined, topic: string): boolean {
  return session !== undefined && session.connected && !session.closed && (session.subscriptions?.[topic]?.qos ?? 0) >= 1;
}
