import type { RabbitMqSettings } from './rabbitmq-settings';

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_AUTH_PORT = 8089;
/**
 * Unacknowledged uplink messages per replica. A telemetry message is acknowledged once its samples
 * are written, up to the ingest's flush interval (1 s) later, so a replica holds about a second of
 * its share of the uplink: 2,048 keeps three replicas above 6,000 messages/s (64 held them near 200).
 */
const DEFAULT_PREFETCH = 2048;

/**
 * The external broker mode from the environment: `FLOTILLA_BROKER=rabbitmq` (default `embedded`),
 * `FLOTILLA_RABBITMQ_URL` (AMQP URLs of the nodes, comma-separated), `FLOTILLA_RABBITMQ_MANAGEMENT_URL`
 * (optional, same), `FLOTILLA_PUBLIC_MQTT_URL` (where devices connect: required, mqtts://),
 * `FLOTILLA_BROKER_AUTH_HOST`/`_PORT` (the private listener of the HTTP auth backend, 127.0.0.1:8089),
 * `FLOTILLA_RABBITMQ_VHOST` (`/`), `FLOTILLA_RABBITMQ_PREFETCH` (64). Undefined in embedded mode.
 */
export function loadRabbitMqConfig(env: Env, publicMqttUrl: string | undefined): RabbitMqSettings | undefined {
  const mode = env.FLOTILLA_BROKER?.trim() || 'embedded';
  if (mode === 'embedded') return undefined;
  if (mode !== 'rabbitmq') throw new Error(`FLOTILLA_BROKER must be "embedded" or "rabbitmq", got "${mode}"`);
  const amqpUrls = urls(env, 'FLOTILLA_RABBITMQ_URL', /^amqps?:$/);
  if (amqpUrls.length === 0) throw new Error('FLOTILLA_BROKER=rabbitmq needs FLOTILLA_RABBITMQ_URL=amqp://user:password@node:5672[,…]');
  if (!publicMqttUrl)
    throw new Error('FLOTILLA_BROKER=rabbitmq needs FLOTILLA_PUBLIC_MQTT_URL: where devices reach the cluster (its load balancer)');
  // Devices of a cluster are beyond this machine by definition: encrypted, as on the embedded broker's TLS listener.
  if (!publicMqttUrl.startsWith('mqtts://'))
    throw new Error(
      `FLOTILLA_BROKER=rabbitmq needs FLOTILLA_PUBLIC_MQTT_URL=mqtts://… (the nodes' MQTT/TLS listener, passed through the load balancer), got "${publicMqttUrl}"`,
    );
  return {
    amqpUrls,
    managementUrls: urls(env, 'FLOTILLA_RABBITMQ_MANAGEMENT_URL', /^https?:$/),
    deviceMqttUrl: publicMqttUrl,
    authListener: {
      host: env.FLOTILLA_BROKER_AUTH_HOST?.trim() || '127.0.0.1',
      port: whole(env, 'FLOTILLA_BROKER_AUTH_PORT', DEFAULT_AUTH_PORT, 65_535),
    },
    vhost: env.FLOTILLA_RABBITMQ_VHOST?.trim() || '/',
    prefetch: Math.max(1, whole(env, 'FLOTILLA_RABBITMQ_PREFETCH', DEFAULT_PREFETCH, 65_535)),
  };
}

function urls(env: Env, name: string, protocol: RegExp): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    let url: URL;
    try {
      url = new URL(entry.trim());
    } catch {
      throw new Error(`${name}: "${entry.trim()}" is not a URL`);
    }
    if (!protocol.test(url.protocol)) throw new Error(`${name}: "${url.protocol}" is not a ${String(protocol)} URL`);
    return entry.trim();
  });
}

function whole(env: Env, name: string, fallback: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > max) throw new Error(`${name} must be a whole number up to ${max}, got "${raw}"`);
  return Number(raw);
}
