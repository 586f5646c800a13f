import type { Aedes } from 'aedes';

interface StoredSubscription {
  topic: string;
}

/** The part of aedes' persistence (aedes-persistence 11, promise form) that keeps a persistent session's subscriptions. */
export interface SubscriptionStore {
  addSubscriptions(client: { id: string }, subscriptions: StoredSubscription[]): Promise<void>;
}

/**
 * Keeps only the subscriptions `granted` allows in the store of persistent sessions (`clean: false`).
 * aedes 1.2 stores the whole SUBSCRIBE packet's list once any filter of it is granted, the refused
 * ones with it, and queues every QoS 1 message that matches a stored filter for its client, to be
 * written at that client's next connect: a device that asked for its own `desired` beside `#` (SUBACK
 * 0x80 for `#`) and reconnected received every device's desired states (their registry logins and
 * configuration), commands, reports and command results published while it was away.
 */
export function storeOnlyGranted(store: SubscriptionStore, granted: (clientId: string, topicFilter: string) => boolean): void {
  const add = store.addSubscriptions.bind(store);
  store.addSubscriptions = (client, subscriptions) =>
    add(
      client,
      subscriptions.filter((s) => granted(client.id, s.topic)),
    );
}

/** aedes' types leave out its `persistence` field. */
export function subscriptionStoreOf(broker: Aedes): SubscriptionStore {
  return (broker as unknown as { persistence: SubscriptionStore }).persistence;
}
