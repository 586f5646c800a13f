import { ControlPacketBudget } from './control-packet-budget';

const PINGREQ = 12;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
const PUBLISH = 3;
const LIMITS = { burst: 3, perSecond: 2, maxSubscribeBytes: 100 };

describe('ControlPacketBudget', () => {
  it('takes a burst of pings and subscriptions, then refuses until the budget refills', () => {
    const budget = new ControlPacketBudget(0, LIMITS);
    expect([PINGREQ, SUBSCRIBE, UNSUBSCRIBE].map((t) => budget.started(t, 0))).toEqual([undefined, undefined, undefined]);
    expect(budget.started(PINGREQ, 0)).toMatch(/more than 3/);
    // Two a second: one more after half a second.
    expect(budget.started(PINGREQ, 500)).toBeUndefined();
    expect(budget.started(PINGREQ, 500)).toMatch(/more than 3/);
  });

  it('never counts publishes, which the channel quotas bound', () => {
    const budget = new ControlPacketBudget(0, LIMITS);
    for (let i = 0; i < 100; i++) expect(budget.started(PUBLISH, 0)).toBeUndefined();
    expect(budget.started(PINGREQ, 0)).toBeUndefined();
  });

  it('refuses a SUBSCRIBE or UNSUBSCRIBE longer than a device needs, and no other type by size', () => {
    const budget = new ControlPacketBudget(0, LIMITS);
    expect(budget.sized(SUBSCRIBE, 100)).toBeUndefined();
    expect(budget.sized(SUBSCRIBE, 101)).toMatch(/SUBSCRIBE of 101 bytes/);
    expect(budget.sized(UNSUBSCRIBE, 101)).toMatch(/UNSUBSCRIBE of 101 bytes/);
    expect(budget.sized(PUBLISH, 100_000)).toBeUndefined();
  });
});
