import { deliversDirectly } from './sessions';

const topic = 'flotilla/v1/d/dev-1/desired';
const live = { connected: true, closed: false, subscriptions: { [topic]: { qos: 1 } } };

describe('deliversDirectly', () => {
  it("hands a message to the device's own client when that live client holds the exact subscription", () => {
    expect(deliversDirectly(live, topic)).toBe(true);
  });

  it('leaves it to the broker when the device is not connected here, is closing, or has not subscribed to that topic', () => {
    expect(deliversDirectly(undefined, topic)).toBe(false);
    expect(deliversDirectly({ ...live, connected: false }, topic)).toBe(false);
    expect(deliversDirectly({ ...live, closed: true }, topic)).toBe(false);
    expect(deliversDirectly({ ...live, subscriptions: {} }, topic)).toBe(false);
    expect(deliversDirectly({ connected: true, closed: false }, topic)).toBe(false);
    expect(deliversDirectly(live, 'flotilla/v1/d/dev-1/cmd')).toBe(false);
  });

  it('leaves a QoS 0 subscription to the broker, which sends it at QoS 0 and keeps nothing for a PUBACK', () => {
    expect(deliversDirectly({ ...live, subscriptions: { [topic]: { qos: 0 } } }, topic)).toBe(false);
  });
});
