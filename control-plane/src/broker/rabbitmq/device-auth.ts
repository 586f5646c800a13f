import { DEVICE_TO_CLOUD, TOPIC_ROOT, isValidDeviceId } from '@flotilla/shared';
import { publishDecision, subscribeDecision } from '../access-policy';

/**
 * What RabbitMQ's HTTP auth backend asks about devices (rabbitmq_auth_backend_http: the `vhost`,
 * `resource` and `topic` paths; the `user` path needs the credential check, see device-auth-listener.ts),
 * decided as the embedded broker decides (access-policy.ts). Pure: request fields in, verdict out.
 */
export type Verdict = { allow: true } | { allow: false; reason: string };

const ALLOW: Verdict = { allow: true };
const deny = (reason: string): Verdict => ({ allow: false, reason });

/** The MQTT plugin's session queues of one client (clean and persistent sessions). */
const sessionQueues = (clientId: string): string[] => [`mqtt-subscription-${clientId}qos0`, `mqtt-subscription-${clientId}qos1`];

/** The exchange the MQTT plugin publishes to and binds session queues on. */
export const MQTT_EXCHANGE = 'amq.topic';

/** An AMQP routing key as the MQTT topic (filter) it came from: the plugin swaps `/` for `.`, `+` for `*`. */
export function topicOfRoutingKey(routingKey: string): string {
  return routingKey
    .split('.')
    .map((word) => (word === '*' ? '+' : word))
    .join('/');
}

/** An MQTT topic as the AMQP routing key RabbitMQ uses for it. */
export function routingKeyOfTopic(topic: string): string {
  return topic
    .split('/')
    .map((word) => (word === '+' ? '*' : word))
    .join('.');
}

/** Routing keys of every device's uplink, as the shared queue binds them. */
export const UPLINK_ROUTING_KEYS: readonly string[] = DEVICE_TO_CLOUD.map((channel) => routingKeyOfTopic(`${TOPIC_ROOT}/d/+/${channel}`));

/** Client id = username = device id, as on the embedded broker (no session takeover of another device). */
export function loginShape(username: string, clientId: string | undefined): Verdict {
  if (!isValidDeviceId(username)) return deny('username is not a device id');
  if (clientId !== undefined && clientId !== username) return deny('client id differs from the username');
  return ALLOW;
}

/**
 * The devices' vhost, and the client id bound to the login: RabbitMQ asks this right after the
 * login and before the MQTT session exists, with the client id for MQTT connections. A certificate
 * login's `/user` question carries no client id, so this is where a device holding its own
 * certificate is kept from taking over another device's session [MQTT-3.1.4-2].
 */
export function vhostDecision(vhost: string, expected: string, username: string, clientId: string | undefined): Verdict {
  if (vhost !== expected) return deny(`vhost ${vhost} is not the devices' vhost`);
  if (clientId !== undefined && clientId !== username) return deny(`client id "${clientId}" is not the device "${username}"`);
  return ALLOW;
}

/** A device may use its own MQTT session queues and the MQTT exchange, nothing else. */
export function resourceDecision(username: string, resource: string, name: string, permission: string): Verdict {
  if (resource === 'queue' && sessionQueues(username).includes(name)) return ALLOW;
  if (resource === 'exchange' && name === MQTT_EXCHANGE && (permission === 'read' || permission === 'write')) return ALLOW;
  return deny(`${permission} on ${resource} ${name}`);
}

/** Publish (`write`) to its own uplink topics, subscribe (`read`) to its own downlink topics, on the MQTT exchange only. */
export function topicDecision(username: string, exchange: string, permission: string, routingKey: string): Verdict {
  if (exchange !== MQTT_EXCHANGE) return deny(`exchange ${exchange}`);
  const topic = topicOfRoutingKey(routingKey);
  if (permission === 'write') {
    const decision = publishDecision(username, topic, false, 0);
    return decision.allowed ? ALLOW : deny(decision.reason);
  }
  if (permission === 'read') {
    const decision = subscribeDecision(username, topic);
    return decision.allowed ? ALLOW : deny(decision.reason);
  }
  return deny(`permission ${permission}`);
}
