import type { Aedes, Client } from 'aedes';

/**
 * Whether a connected client session exists for `deviceId`, other than `except`. aedes keeps
 * its client table as an untyped field; this is the one place that reads it.
 */
export function hasLiveSession(broker: Aedes, deviceId: string, except?: Client): boolean {
  const clients = (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
  const client = clients[deviceId];
  return client !== undefined && client !== except && client.connected && !client.closed;
}
