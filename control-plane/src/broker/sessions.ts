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
