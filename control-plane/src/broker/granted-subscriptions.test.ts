import { Aedes } from 'aedes';
import { deviceMaySubscribe } from '@flotilla/shared';
import { storeOnlyGranted, subscriptionStoreOf } from './granted-subscriptions';

/** aedes' own store of persistent sessions, in memory: what a publish matches to queue a message for a device that is away. */
interface Matching {
  subscriptionsByTopic(topic: string): Promise<{ clientId: string; topic: string }[]>;
}

let broker: Aedes;
beforeEach(async () => {
  broker = await Aedes.createBroker();
});
afterEach(() => new Promise<void>((resolve) => broker.close(() => resolve())));

const OWN = 'flotilla/v1/d/a/desired';
const REFUSED = ['#', 'flotilla/v1/d/+/desired', 'flotilla/v1/d/b/cmd'];

async function storeSubscribePacket(): Promise<Matching> {
  const store = subscriptionStoreOf(broker);
  // As aedes 1.2 stores a SUBSCRIBE of which one filter was granted: the packet's whole list.
  await store.addSubscriptions({ id: 'a' }, [OWN, ...REFUSED].map((topic) => ({ topic, qos: 1 })) as { topic: string }[]);
  return store as unknown as Matching;
}

describe('storeOnlyGranted', () => {
  it("keeps a persistent session's granted filters only, so nothing of another device is queued for it", async () => {
    storeOnlyGranted(subscriptionStoreOf(broker), deviceMaySubscribe);
    const store = await storeSubscribePacket();
    expect(await store.subscriptionsByTopic('flotilla/v1/d/b/desired')).toEqual([]);
    expect(await store.subscriptionsByTopic('flotilla/v1/d/b/cmd')).toEqual([]);
    expect(await store.subscriptionsByTopic('flotilla/v1/d/b/reported')).toEqual([]);
    expect((await store.subscriptionsByTopic(OWN)).map((s) => [s.clientId, s.topic])).toEqual([['a', OWN]]);
  });

  it("is needed: unwrapped, aedes keeps the refused filters and matches other devices' topics to them", async () => {
    const store = await storeSubscribePacket();
    expect((await store.subscriptionsByTopic('flotilla/v1/d/b/desired')).map((s) => s.topic).sort()).toEqual(
      ['#', 'flotilla/v1/d/+/desired'].sort(),
    );
  });
});
