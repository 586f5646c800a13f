/**
 * aedes keeps every QoS 1 message for a `clean: false` subscriber until the device acknowledges
 * it: while the device is away, and while it is connected but withholds PUBACK. Nothing bounds
 * that per client id, so one device could make the broker hold messages without end (each
 * `desired/get` with an old rev sends it a whole desired state). These bound it.
 */

/** How many messages each client id has waiting. Pure. */
export class QueueBound {
  private readonly counts = new Map<string, number>();

  /** `max` 0 = no bound. */
  constructor(private readonly max: number) {}

  /** Takes a place for one more message of `clientId`; false when it has `max` waiting. */
  admit(clientId: string): boolean {
    const n = this.counts.get(clientId) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.counts.set(clientId, n + 1);
    return true;
  }

  /** One message of `clientId` left the queue (acknowledged, or cleared). */
  released(clientId: string): void {
    const n = (this.counts.get(clientId) ?? 1) - 1;
    if (n > 0) this.counts.set(clientId, n);
    else this.counts.delete(clientId);
  }

  waiting(clientId: string): number {
    return this.counts.get(clientId) ?? 0;
  }
}

type Sub = { clientId: string };

/** The part of aedes' persistence (aedes-persistence 11, promise form) that holds outgoing messages. */
export interface OutgoingQueues {
  outgoingEnqueue(sub: Sub, packet: unknown): Promise<void>;
  outgoingEnqueueCombi(subs: Sub[], packet: unknown): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: unknown): Promise<unknown>;
}

/**
 * Wraps the persistence's outgoing queue so that a client id holds at most `bound`'s maximum.
 * A message beyond it is not kept for that client (`dropped` is told); if the client is
 * connected, aedes then fails to deliver it and closes the connection. The newest is the one
 * dropped: a device asks for its current desired state (`desired/get`) after every connect, so
 * nothing it needs is lost. (A device back with a full queue that asks before acknowledging what
 * was kept loses its connection once; on the next one the queue is empty.)
 */
export function boundOutgoingQueues(queues: OutgoingQueues, bound: QueueBound, dropped: (clientId: string) => void): void {
  const enqueue = queues.outgoingEnqueue.bind(queues);
  const enqueueCombi = queues.outgoingEnqueueCombi.bind(queues);
  const clear = queues.outgoingClearMessageId.bind(queues);
  const admitted = (sub: Sub): boolean => {
    if (bound.admit(sub.clientId)) return true;
    dropped(sub.clientId);
    return false;
  };
  queues.outgoingEnqueue = async (sub, packet) => {
    if (admitted(sub)) await enqueue(sub, packet);
  };
  queues.outgoingEnqueueCombi = async (subs, packet) => {
    const kept = subs.filter(admitted);
    if (kept.length > 0) await enqueueCombi(kept, packet);
  };
  queues.outgoingClearMessageId = async (client, packet) => {
    const removed = await clear(client, packet);
    if (removed) bound.released(client.id);
    return removed;
  };
}
