import type { DeviceLimits } from '../limits/device-limits';
import type { LimitStats } from '../limits/limit-stats';
import { ThrottledCount } from '../throttled-count';
import type { KeyedSerialQueue } from './keyed-serial-queue';

/**
 * The part of each bound at which the embedded broker refuses a device's next event. The gate sees
 * an event before it is counted here: aedes authorizes every PUBLISH of one read of the socket (tens
 * of KiB, a few hundred small events) before it delivers the first, so a burst read at once passes
 * the gate together. The other half of the bound is room for such a burst, which is only dropped
 * when it does not fit.
 */
export const GATE_SHARE = 0.5;

/** Which bound a device's next event would pass: its own, or that of all devices together. */
export type EventBound = 'device' | 'total';

/**
 * Device events taken and not yet stored, per device and in all. While the database is away each
 * one waits in memory (the batch writer retries it until the database is back); events are each
 * distinct, so unlike reports (CoalescedWrites' `merge`) they cannot take each other's place, and
 * are bounded in number instead. Pure.
 */
export class EventBacklog {
  private readonly perDevice = new Map<string, number>();
  private waiting = 0;

  constructor(private readonly bounds: Pick<DeviceLimits, 'eventsWaitingPerDevice' | 'eventsWaitingTotal'>) {}

  get size(): number {
    return this.waiting;
  }

  /**
   * The bound one more event of `deviceId` would pass, or undefined when it may wait (0 = no bound);
   * with `share`, that part of each bound (the embedded broker's gate: `GATE_SHARE`).
   */
  full(deviceId: string, share = 1): EventBound | undefined {
    const { eventsWaitingPerDevice: device, eventsWaitingTotal: total } = this.bounds;
    if (device > 0 && (this.perDevice.get(deviceId) ?? 0) >= Math.ceil(device * share)) return 'device';
    if (total > 0 && this.waiting >= Math.ceil(total * share)) return 'total';
    return undefined;
  }

  enter(deviceId: string): void {
    this.perDevice.set(deviceId, (this.perDevice.get(deviceId) ?? 0) + 1);
    this.waiting++;
  }

  leave(deviceId: string): void {
    const left = (this.perDevice.get(deviceId) ?? 1) - 1;
    if (left > 0) this.perDevice.set(deviceId, left);
    else this.perDevice.delete(deviceId);
    this.waiting = Math.max(0, this.waiting - 1);
  }
}

/**
 * The log of events dropped past the bounds: the first drop is told at once, later ones at most
 * once per interval with their count, instead of a line per event for the length of an outage. Pure.
 */
export class DroppedEventsLog {
  private readonly untold: ThrottledCount;
  private readonly byBound = new Map<EventBound, number>();

  constructor(
    private readonly bounds: Pick<DeviceLimits, 'eventsWaitingPerDevice' | 'eventsWaitingTotal'>,
    everyMs: number,
    now: () => number = () => Date.now(),
  ) {
    this.untold = new ThrottledCount(everyMs, now);
  }

  /** One event dropped at `bound`: the line to log now, or undefined when it waits for the interval's line. */
  dropped(bound: EventBound): string | undefined {
    this.byBound.set(bound, (this.byBound.get(bound) ?? 0) + 1);
    return this.line(this.untold.add());
  }

  /** The line for drops not yet told, once the interval since the last line has passed. */
  due(): string | undefined {
    return this.line(this.untold.due());
  }

  private line(n: number | undefined): string | undefined {
    if (n === undefined) return undefined;
    const parts = [...this.byBound].map(([bound, count]) =>
      bound === 'device'
        ? `${count} of devices that had ${this.bounds.eventsWaitingPerDevice} waiting (FLOTILLA_EVENTS_WAITING_PER_DEVICE)`
        : `${count} while ${this.bounds.eventsWaitingTotal} waited in all (FLOTILLA_EVENTS_WAITING_TOTAL)`,
    );
    this.byBound.clear();
    return (
      `dropped ${n} device event${n === 1 ? '' : 's'} unstored, the database not taking them in time: ${parts.join('; ')}. ` +
      'Counted in flotilla_device_events_dropped_total; bring the database back, or raise the bound if it is too low for the fleet'
    );
  }
}

/**
 * Where the uplink hands a device's events (its own, and the control plane's `quota-exceeded`): each
 * waits for its write in the device's queue, counted until it settles (stored, or dropped by the
 * batch writer). Bounded only where the broker acknowledged a message before it reaches here
 * (`bounded`: embedded); RabbitMQ keeps what a replica has not acknowledged, and its prefetch window
 * bounds what waits here. At half a bound the embedded broker refuses the device's next event before
 * its PUBACK (BrokerGateway asks `gateFull`), so the device keeps it; one past a bound that was
 * acknowledged already (a burst read at once past the gate, or the control plane's own) is dropped,
 * counted and logged, not kept without bound.
 */
export class EventIntake {
  readonly backlog: EventBacklog;
  bounded = false;
  private readonly log: DroppedEventsLog;

  constructor(
    limits: Pick<DeviceLimits, 'eventsWaitingPerDevice' | 'eventsWaitingTotal' | 'reportIntervalMs'>,
    private readonly queue: KeyedSerialQueue,
    private readonly stats: LimitStats,
    private readonly warn: (line: string) => void,
  ) {
    this.backlog = new EventBacklog(limits);
    this.log = new DroppedEventsLog(limits, limits.reportIntervalMs);
  }

  /** The bound at which the broker should refuse the next event of `deviceId` (half of each bound: `GATE_SHARE`), if any. */
  gateFull(deviceId: string): EventBound | undefined {
    return this.bounded ? this.backlog.full(deviceId, GATE_SHARE) : undefined;
  }

  take(deviceId: string, store: () => Promise<unknown>): Promise<void> {
    const full = this.bounded ? this.backlog.full(deviceId) : undefined;
    if (full) {
      this.stats.count('eventsDropped', { bound: full });
      const line = this.log.dropped(full);
      if (line) this.warn(line);
      return Promise.resolve();
    }
    this.backlog.enter(deviceId);
    return this.queue.run(deviceId, store).finally(() => this.backlog.leave(deviceId));
  }

  /** The interval's line for drops not told yet (called every `reportIntervalMs`). */
  tellDropped(): void {
    const line = this.log.due();
    if (line) this.warn(line);
  }
}
