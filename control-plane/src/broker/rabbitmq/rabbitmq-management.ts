import { redact } from './amqp-connection';

/** Each call gives up after this long on one node and tries the next. */
const TIMEOUT_MS = 5_000;
/** The connection list of a large fleet is megabytes of JSON the node builds first. */
const LIST_TIMEOUT_MS = 30_000;

export interface ClusterNode {
  name: string;
  running: boolean;
}

/**
 * The RabbitMQ management API (one URL per node, tried in turn): the cluster's nodes for readiness
 * and /metrics, closing a device's connections wherever they are, and the policy device sessions need.
 */
export class RabbitMqManagement {
  constructor(
    private readonly urls: string[],
    private readonly vhost: string,
  ) {}

  get configured(): boolean {
    return this.urls.length > 0;
  }

  async nodes(): Promise<ClusterNode[]> {
    const nodes = (await this.call('GET', '/api/nodes?columns=name,running')) as { name: string; running: boolean }[];
    return nodes.map((n) => ({ name: n.name, running: n.running }));
  }

  /**
   * The user name of every connection on every running node, in one request: pages would be
   * sorted again for each, and a connection closing meanwhile would shift one past the cursor.
   */
  async connectedUsers(): Promise<string[]> {
    const connections = (await this.call('GET', '/api/connections?columns=user', undefined, LIST_TIMEOUT_MS)) as { user?: string }[];
    return connections.flatMap((c) => (typeof c.user === 'string' ? [c.user] : []));
  }

  /**
   * Closes every connection of `username` (a device id) on any node; how many there were. By user
   * (connection tracking): the plain connection list leaves out MQTT connections.
   */
  async closeConnectionsOf(username: string): Promise<number> {
    const path = `/api/connections/username/${encodeURIComponent(username)}`;
    const connections = (await this.call('GET', path)) as unknown[];
    if (connections.length > 0) await this.call('DELETE', path);
    return connections.length;
  }

  /**
   * The MQTT plugin (3.10) keeps each session in a durable queue `mqtt-subscription-<client id>qos1`
   * (and `…qos0`). Persistent sessions (agents) are quorum queues (`mqtt.durable_queue_type`),
   * replicated by themselves; clean sessions stay classic queues on the node the client reached, and
   * RabbitMQ refuses to redeclare or delete a durable classic queue whose node is down ("home node
   * … is down or inaccessible"), closing the client at every reconnect. Mirrored to every node, such
   * a queue is promoted on a survivor when its node dies, and the device's reconnect replaces it.
   */
  async ensureSessionPolicy(): Promise<void> {
    await this.call('PUT', `/api/policies/${encodeURIComponent(this.vhost)}/flotilla-mqtt-sessions`, {
      pattern: '^mqtt-subscription-',
      definition: { 'ha-mode': 'all', 'ha-sync-mode': 'automatic' },
      'apply-to': 'queues',
      priority: 0,
    });
  }

  private async call(method: string, path: string, body?: unknown, timeoutMs = TIMEOUT_MS): Promise<unknown> {
    if (this.urls.length === 0) throw new Error('FLOTILLA_RABBITMQ_MANAGEMENT_URL names no node');
    // Every node's failure, not only the last one tried: which nodes failed, and how, is the diagnosis.
    const failures: string[] = [];
    for (const base of this.urls) {
      const url = new URL(base);
      const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
      url.username = url.password = '';
      try {
        const res = await fetch(new URL(path, url), {
          method,
          headers: { authorization: `Basic ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.status === 404 && method === 'DELETE') return undefined;
        if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
        const text = await res.text();
        return text ? (JSON.parse(text) as unknown) : undefined;
      } catch (e) {
        failures.push(`at ${redact(base)}: ${(e as Error).message}`);
      }
    }
    throw new Error(`management API ${failures.join('; ')}`);
  }
}
