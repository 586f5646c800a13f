/** Where devices reach the broker; implemented by the broker module once it listens. */
export interface MqttEndpoint {
  /** The URL to give a device that reached the API at `requestHost()` (asked only when no public URL replaces it). */
  urlForDevice(requestHost: () => string): string;
}

export const MQTT_ENDPOINT = Symbol('MqttEndpoint');

/**
 * An explicit public URL wins (NAT, TLS terminator, another broker); otherwise the device
 * uses the host name it already reached the API with, on the broker's TLS port when there is one.
 */
export function deviceMqttUrl(publicUrl: string | undefined, requestHost: () => string, broker: { port: number; tls: boolean }): string {
  if (publicUrl) return publicUrl;
  const hostname = requestHost();
  const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  return `${broker.tls ? 'mqtts' : 'mqtt'}://${host}:${broker.port}`;
}
