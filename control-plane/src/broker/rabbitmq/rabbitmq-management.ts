import { redact } from './amqp-connection';
import { clusterView, type ClusterNode, type NodeProbe } from './cluster-view';

export type { ClusterNode } from './cluster-view';

/*
 * Measured on a 3-node cluster (rabbitmq-node-loss.int.test.ts; BENCHMARKS.md, "RabbitMQ management
 * API with a node down"): while a member the others still count as running does not answer (stopping
 * slowly, hung, its machine gone silent), every cluster-wide read on the surviving nodes waits on it:
 * /api/nodes 5 s without statistics (RabbitMQ's own wait on each member) and, with statistics, until
 * the member is declared down (net_ticktime, about a minute); so do the connection lists, policy
 * writes and connection closes. A node-local read answers in milliseconds meanwhile.
 */
/** The answering node's own name, read locally (no statistics, no other node asked). */
const SELF = '/api/overview?disable_stats=true&columns=node';
/**
 * Well under net_ticktime; not 5 s: in the HA e2e at load average 30 on two cores, healthy nodes
 * took longer than that to answer it.
 */
const SELF_TIMEOUT_MS = 10_000;
/** The member list without statistics: longer than RabbitMQ's own 5 s wait on a member that does not answer. */
const MEMBERS = '/api/nodes?disable_stats=true&columns=name,running';
const CLUSTER_TIMEOUT_MS = 12_000;
/** The connection list of a large fleet is megabytes of JSON the node builds first. */
const LIST_TIMEOUT_MS = 30_000;
/** Clean-session queues: a master and one mirror (see ensureSessionPolicy). */
export const SESSION_POLICY = { 'ha-mode': 'exactly', 'ha-params': 2, 'ha-sync-mode': 'automatic' } as const;

/**
 * What the cluster's nodes read gives: RabbitMQ's own member list (absent when no node gave it, then
 * `membersUnknown` says why) and the view with each node's own answer (a member whose management
 * API did not answer is down in it; on a loaded machine, a slow one too).
 */
export interface ClusterReading {
  nodes: ClusterNode[];
  members?: ClusterNode[];
  membersUnknown?: string;
}

/** A call no management URL answered: each URL's failure, which is the diagnosis. */
export class ManagementApiError extends Error {
  constructor(failures: string[], hint = '') {
    super(`management API ${failures.join('; ')}${hint}`);
    this.name = 'ManagementApiError';
  }
}

class TimedOut extends Error {}

/**
 * The RabbitMQ management API (one URL per node): the cluster's nodes for readiness and /metrics,
 * the connection list for presence, closing a device's connections wherever they are, and the
 * policy device sessions need. Small reads ask every node at once and take the first answer; the
 * connection list and writes go to one node after another, those that answered last first.
 */
export class RabbitMqManagement {
  /** The node behind each URL, as it last said. */
  private readonly nodeOf = new Map<string, string>();
  /** URLs whose node did not answer its last probe. */
  private silent = new Set<string>();

  constructor(
    private readonly urls: string[],
    private readonly vhost: string,
  ) {}

  get configured(): boolean {
    return this.urls.length > 0;
  }

  /** Throws only when no node answered anything: then nothing is known of the cluster. */
  async nodes(): Promise<ClusterReading> {
    let membersUnknown: string | undefined;
    const [members, probes] = await Promise.all([
      this.first(MEMBERS, CLUSTER_TIMEOUT_MS).then(
        (list) => (list as ClusterNode[]).map((n) => ({ name: n.name, running: n.running })),
        (e: Error) => void (membersUnknown = e.message),
      ),
      Promise.all(this.urls.map((url) => this.probe(url))),
    ]);
    for (const p of probes) if ('node' in p) this.nodeOf.set(p.url, p.node);
    this.silent = new Set(probes.filter((p) => 'error' in p).map((p) => p.url));
    if (!members && this.silent.size === this.urls.length) {
      throw new ManagementApiError(probes.map((p) => `at ${redact(p.url)}: ${'error' in p ? p.error : ''}`));
    }
    return {
      nodes: clusterView(members ?? undefined, probes, this.nodeOf),
      ...(members ? { members } : {}),
      ...(membersUnknown ? { membersUnknown } : {}),
    };
  }

  /**
   * The user name of every connection on every running node, in one request: pages would be
   * sorted again for each, and a connection closing meanwhile would shift one past the cursor.
   * One node at a time, not all at once: every node asked builds the whole cluster's list, asking
   * each member for its part, and at 6,000 connections that list was two thirds of a node's work
   * (BENCHMARKS.md, "Why a cluster connect gets slower as the cluster fills").
   */
  async connectedUsers(): Promise<string[]> {
    const connections = (await this.inTurn('GET', '/api/connections?columns=user', LIST_TIMEOUT_MS)) as { user?: string }[];
    return connections.flatMap((c) => (typeof c.user === 'string' ? [c.user] : []));
  }

  /**
   * Closes every connection of `username` (a device id) on any node; how many there were. By user
   * (connection tracking): the plain connection list leaves out MQTT connections.
   */
  async closeConnectionsOf(username: string): Promise<number> {
    const path = `/api/connections/username/${encodeURIComponent(username)}`;
    const connections = (await this.first(path, CLUSTER_TIMEOUT_MS)) as unknown[];
    if (connections.length > 0) await this.write('DELETE', path);
    return connections.length;
  }

  /**
   * The MQTT plugin (3.10) keeps each session in a durable queue `mqtt-subscription-<client id>qos1`
   * (and `…qos0`). Persistent sessions (agents) are quorum queues (`mqtt.durable_queue_type`),
   * replicated by themselves; clean sessions stay classic queues on the node the client reached, and
   * RabbitMQ refuses to redeclare or delete a durable classic queue whose node is down ("home node
   * … is down or inaccessible"), closing the client at every reconnect. Mirrored, such a queue is
   * promoted on a survivor when its node dies, and the device's reconnect replaces it. Two copies,
   * not one per node: each copy is a `gm` process that wakes every 250 ms for as long as it lives
   * (3.10's gm re-arms its forced-GC timer in every callback, force_gc included), so the nodes' work
   * at rest grows with queues × copies; RabbitMQ puts a lost copy back on a survivor.
   */
  async ensureSessionPolicy(): Promise<void> {
    await this.write('PUT', `/api/policies/${encodeURIComponent(this.vhost)}/flotilla-mqtt-sessions`, {
      pattern: '^mqtt-subscription-',
      definition: SESSION_POLICY,
      'apply-to': 'queues',
      priority: 0,
    });
  }

  private async probe(url: string): Promise<NodeProbe> {
    try {
      const { node } = (await this.request(url, 'GET', SELF, SELF_TIMEOUT_MS)) as { node?: unknown };
      if (typeof node !== 'string') return { url, error: `GET ${SELF} named no node` };
      return { url, node };
    } catch (e) {
      return { url, error: (e as Error).message };
    }
  }

  /** Every node asked at once, the first answer taken (the others cancelled). */
  private async first(path: string, timeoutMs: number): Promise<unknown> {
    if (this.urls.length === 0) throw new Error('FLOTILLA_RABBITMQ_MANAGEMENT_URL names no node');
    const won = new AbortController();
    const failures: string[] = [];
    try {
      return await Promise.any(
        this.urls.map((base, i) =>
          this.request(base, 'GET', path, timeoutMs, undefined, won.signal).catch((e: Error) => {
            failures[i] = `at ${redact(base)}: ${e.message}`;
            throw e;
          }),
        ),
      );
    } catch {
      throw new ManagementApiError(failures, this.waitingOn());
    } finally {
      won.abort();
    }
  }

  /**
   * One node after another (a write done twice would do no harm, but need not be), those that
   * answered their last probe first. A node that took the request and did not answer in time was
   * waiting on a member that does not answer, as every other one would: the write stops there.
   */
  private async write(method: 'PUT' | 'DELETE', path: string, body?: unknown): Promise<void> {
    await this.inTurn(method, path, CLUSTER_TIMEOUT_MS, body);
  }

  /** One node after another, as `write`; the first answer. */
  private async inTurn(method: 'GET' | 'PUT' | 'DELETE', path: string, timeoutMs: number, body?: unknown): Promise<unknown> {
    if (this.urls.length === 0) throw new Error('FLOTILLA_RABBITMQ_MANAGEMENT_URL names no node');
    const failures: string[] = [];
    const ordered = [...this.urls.filter((u) => !this.silent.has(u)), ...this.urls.filter((u) => this.silent.has(u))];
    for (const base of ordered) {
      try {
        return await this.request(base, method, path, timeoutMs, body);
      } catch (e) {
        failures.push(`at ${redact(base)}: ${(e as Error).message}`);
        if (e instanceof TimedOut && !this.silent.has(base)) break;
      }
    }
    throw new ManagementApiError(failures, this.waitingOn());
  }

  /** Why every node may have failed a cluster-wide call: a member that does not answer, named. */
  private waitingOn(): string {
    const names = [...this.silent].map((url) => this.nodeOf.get(url) ?? redact(url));
    if (names.length === 0) return '';
    return ` (RabbitMQ's cluster-wide calls wait on a member that does not answer, ${names.join(', ')}, until the cluster declares it down: net_ticktime, about a minute)`;
  }

  private async request(
    base: string,
    method: string,
    path: string,
    timeoutMs: number,
    body?: unknown,
    cancel?: AbortSignal,
  ): Promise<unknown> {
    const url = new URL(base);
    const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    url.username = url.password = '';
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(new URL(path, url), {
        method,
        headers: { authorization: `Basic ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
      });
      if (res.status === 404 && method === 'DELETE') return undefined;
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const text = await res.text();
      return text ? (JSON.parse(text) as unknown) : undefined;
    } catch (e) {
      if (timeout.aborted) throw new TimedOut(`no answer to ${method} ${path} in ${timeoutMs / 1000} s`, { cause: e });
      // fetch says only "fetch failed"; the cause says how (ECONNREFUSED, ENOTFOUND…).
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      if (cause) throw new Error(`${(e as Error).message}: ${cause.code ?? cause.message}`, { cause: e });
      throw e;
    }
  }
}
