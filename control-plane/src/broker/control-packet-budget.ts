/**
 * What one MQTT connection may send besides publishes, which the channel quotas bound: PINGREQ,
 * SUBSCRIBE and UNSUBSCRIBE. aedes answers each (PINGRESP, SUBACK after the access policy and a
 * subscription store update) with no limit of its own, so one device sending them as fast as its
 * link allows took the broker's event loop: others' round trips went from under a millisecond to
 * 20-170 ms. The agent sends one PINGREQ per idle keep-alive (30 s) and subscribes to its two
 * topics once per connection. Pure: the clock is passed in.
 */
export const CONTROL_PACKETS = {
  /** Packets at once (a connection's subscribes, a burst of pings after a stall). */
  burst: 30,
  /** Packets per second after the burst, sustained. */
  perSecond: 1,
  /** Largest SUBSCRIBE or UNSUBSCRIBE: a device has two topics; a full packet held thousands of refused ones. */
  maxSubscribeBytes: 4096,
} as const;

const PINGREQ = 12;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;

export class ControlPacketBudget {
  private tokens: number;
  private at: number;

  constructor(
    nowMs: number,
    private readonly limits: { burst: number; perSecond: number; maxSubscribeBytes: number } = CONTROL_PACKETS,
  ) {
    this.tokens = limits.burst;
    this.at = nowMs;
  }

  /** A packet of MQTT type `type` (the fixed header's high nibble) begins; a reason when it is one too many. */
  started(type: number, nowMs: number): string | undefined {
    if (type !== PINGREQ && type !== SUBSCRIBE && type !== UNSUBSCRIBE) return undefined;
    this.tokens = Math.min(this.limits.burst, this.tokens + ((nowMs - this.at) / 1000) * this.limits.perSecond);
    this.at = nowMs;
    if (this.tokens < 1)
      return `more than ${this.limits.burst} PINGREQ, SUBSCRIBE or UNSUBSCRIBE packets, then ${this.limits.perSecond} a second`;
    this.tokens--;
    return undefined;
  }

  /** The remaining length of a packet of `type` is known; a reason when that type may not be so long. */
  sized(type: number, remainingLength: number): string | undefined {
    if (type !== SUBSCRIBE && type !== UNSUBSCRIBE) return undefined;
    return remainingLength > this.limits.maxSubscribeBytes
      ? `a ${type === SUBSCRIBE ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} of ${remainingLength} bytes exceeds ${this.limits.maxSubscribeBytes}`
      : undefined;
  }
}
