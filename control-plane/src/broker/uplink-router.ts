import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PROTOCOL_SCHEMA, decodePayload, type ChannelPayload, type DeviceChannel, type RecordedEvent } from '@flotilla/shared';
import { DeviceLinkService } from '../devices/device-link.service';
import { FanoutActivity } from '../devices/fanout-activity';
import { ChannelQuotas } from '../limits/channel-quota';
import { eventInWindow, samplesInWindow, type ClockWindow } from '../limits/clock-window';
import { DEVICE_LIMITS, type DeviceLimits } from '../limits/device-limits';
import { LimitStats } from '../limits/limit-stats';
import { QuotaExcess } from '../limits/quota-excess';
import { EventIntake } from './event-backlog';
import { HELD_CHANNELS, HeldAnswers } from './held-answers';
import { KeyedSerialQueue } from './keyed-serial-queue';
import { LatestWaiting } from './latest-waiting';
import { DEVICE_BROKER, type DeviceBroker, type UplinkMessage } from './device-broker';
import { RateLimiter } from './rate-limiter';
import { UplinkStats } from './uplink-stats';

type Handlers = { [C in DeviceChannel]: (deviceId: string, value: ChannelPayload<C>) => Promise<unknown> };

/** How often rate and quota buckets that have refilled are forgotten. */
const SWEEP_EVERY_MS = 60_000;

/**
 * The MQTT edge for device → control plane messages: validate with the protocol schema, call
 * one service method. Invalid messages are counted, logged and dropped; nothing a device
 * sends can throw out of here. Handling is serialized per device (see KeyedSerialQueue).
 */
@Injectable()
export class UplinkRouter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Uplink');
  private readonly queue = new KeyedSerialQueue((deviceId, error) => {
    this.stats.failed();
    this.logger.error(`device ${deviceId}: handling failed: ${error instanceof Error ? error.message : String(error)}`);
  });

  /** Reports and inventories, which a later one makes obsolete: one waiting per device (latest-waiting.ts). */
  readonly latest = new Map<DeviceChannel, LatestWaiting<unknown>>([
    ['reported', new LatestWaiting(this.queue)],
    ['inventory', new LatestWaiting(this.queue)],
  ]);

  private readonly handlers: Handlers = {
    'desired/get': (id, m) => this.link.desiredRequested(id, m.rev, m.refresh === true),
    reported: (id, m) => this.link.reported(id, m),
    inventory: (id, m) => this.link.inventory(id, m),
    events: (id, m) => this.link.event(id, m),
    telemetry: (id, m) => this.link.telemetry(id, m),
    status: (id, m) => (m.status === 'online' ? this.statusOnline(id) : this.offline(id)),
    // Commands are not issued yet, so a result has nothing to resolve.
    'cmd/res': async (id, m) => this.logger.debug(`device ${id}: result of command ${m.id} (ok=${m.ok})`),
  };

  /**
   * The broker has already acknowledged a message when it reaches here (MQTT 3.1.1 has no
   * negative PUBACK, and refusing in `authorizePublish` would disconnect at the first excess
   * message), so a device over its rate has its messages dropped unhandled; only persistent
   * abuse costs it the connection.
   */
  private readonly limiter = new RateLimiter();
  /** A broadcast-only copy's own rate and quotas (see `admit`). */
  private readonly broadcastLimiter = new RateLimiter();
  private readonly broadcastQuotas: ChannelQuotas;
  /** Per channel, below the overall rate: over-quota messages are dropped and counted, never a reason to disconnect. */
  private readonly quotas: ChannelQuotas;
  /** What each device had dropped, recorded once per interval as an event of its own. */
  private readonly excess: QuotaExcess;
  private readonly clock: ClockWindow;
  private timers: NodeJS.Timeout[] = [];
  /** Devices' answers while a fan-out of this process publishes (held-answers.ts). */
  readonly held = new HeldAnswers<UplinkMessage>(
    (m) => this.dispatch(m.deviceId, m.channel, m.payload),
    (count) => this.stats.answersReleased(count),
  );
  /**
   * Only with the embedded broker, which has acknowledged a message before it reaches here. From
   * RabbitMQ a message is acknowledged once handled, and held ones would fill the consumer's
   * prefetch window, stalling the `desired/get`s behind them until the release.
   */
  private holdsAnswers = false;
  /** Events waiting for the database, bounded (event-backlog.ts); the embedded broker's gate asks it (BrokerGateway). */
  readonly events: EventIntake;

  constructor(
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    private readonly link: DeviceLinkService,
    private readonly stats: UplinkStats,
    @Inject(DEVICE_LIMITS) private readonly limits: DeviceLimits,
    private readonly limitStats: LimitStats,
    private readonly fanouts: FanoutActivity,
  ) {
    this.quotas = new ChannelQuotas(limits.quotas);
    this.broadcastQuotas = new ChannelQuotas(limits.quotas);
    this.excess = new QuotaExcess(limits.quotas);
    this.clock = { pastMs: limits.clockSkewPastMs, futureMs: limits.clockSkewFutureMs };
    this.events = new EventIntake(limits, this.queue, limitStats, (line) => this.logger.warn(line));
  }

  onModuleInit(): void {
    this.broker.admitWith((message, copy) => this.admit(message, copy));
    this.broker.onUplink((message) => this.route(message));
    this.holdsAnswers = this.broker.status().mode === 'embedded';
    this.events.bounded = this.holdsAnswers;
    this.fanouts.onIdle(() => this.held.release());
    this.broker.onPresence((deviceId, presence) => (presence === 'connected' ? this.connected(deviceId) : this.disconnected(deviceId)));
    this.timers = [
      setInterval(() => this.sweep(Date.now()), SWEEP_EVERY_MS),
      setInterval(() => {
        this.recordExcess();
        this.events.tellDropped();
      }, this.limits.reportIntervalMs),
    ];
    for (const t of this.timers) t.unref();
  }

  private sweep(now: number): void {
    for (const buckets of [this.limiter, this.quotas, this.broadcastLimiter, this.broadcastQuotas]) buckets.sweep(now);
  }

  onApplicationShutdown(): void {
    for (const t of this.timers) clearInterval(t);
    this.held.release();
  }

  /**
   * The broker's gate (`admitWith`), before any listener sees the message: its device's rate, then
   * its channel's quota. Nothing is parsed before this, so a flood costs two bucket lookups a
   * message whatever it carries; command results, which every replica parses on the broadcast path,
   * included. With several replicas, the rate and quota buckets are per replica: each sees its share
   * of a device's messages. A broadcast-only copy (external mode: every replica gets each command
   * result, one of them also as uplink) is held to buckets of its own, so that a result does not
   * cost its device twice here; the replica handling the uplink copy counts and disconnects.
   */
  admit({ deviceId, channel, payload }: UplinkMessage, copy: 'uplink' | 'broadcast'): boolean {
    const now = Date.now();
    if (copy === 'broadcast') {
      return this.broadcastLimiter.take(deviceId, now) === 'accept' && this.broadcastQuotas.take(deviceId, channel, payload.length, now).ok;
    }
    const decision = this.limiter.take(deviceId, now);
    if (decision !== 'accept') {
      this.stats.rateLimited();
      if (decision === 'disconnect') void this.disconnectAbuser(deviceId);
      return false;
    }
    const quota = this.quotas.take(deviceId, channel, payload.length, now);
    if (!quota.ok) {
      this.limitStats.count('quotaDropped', { channel, limit: quota.exceeded });
      this.excess.add(deviceId, channel, quota.exceeded);
      return false;
    }
    return true;
  }

  /**
   * One uplink message the gate admitted (the ACL lets a device publish only under its own id, so
   * the message's id is the sender's); settles once it is handled (or dropped).
   */
  async route({ deviceId, channel, payload }: UplinkMessage): Promise<void> {
    // Rate and quotas were taken as it arrived, so a held burst released at once trips neither.
    if (this.holdsAnswers && this.fanouts.busy && HELD_CHANNELS.has(channel)) await this.held.hold({ deviceId, channel, payload });
    else await this.dispatch(deviceId, channel, payload);
    // Buffered, not yet written: the message is settled (and, on RabbitMQ, acknowledged) once its
    // samples are. Awaited outside the device's queue, so its next message does not wait for it.
    if (channel === 'telemetry') await this.link.telemetryStored();
  }

  /** Presence from the broker's own connect and disconnect events, in order with the device's messages. */
  connected(deviceId: string): void {
    this.sealLatest(deviceId);
    void this.queue.run(deviceId, () => {
      this.link.connectionOpened(deviceId);
      return this.online(deviceId);
    });
  }

  /**
   * The device's rate bucket is kept: forgotten on disconnect, a device over its rate got a full
   * burst back by reconnecting. The sweep forgets a bucket once it has refilled and its abuse window
   * passed, which is the same as never having seen the device.
   */
  disconnected(deviceId: string): void {
    this.sealLatest(deviceId);
    void this.queue.run(deviceId, () => this.offline(deviceId));
  }

  /** A report sent after a (re)connect is the first of that connection: it never takes the place of one sent before. */
  private sealLatest(deviceId: string): void {
    for (const latest of this.latest.values()) latest.seal(deviceId);
  }

  private async disconnectAbuser(deviceId: string): Promise<void> {
    try {
      if (await this.broker.disconnect(deviceId))
        this.logger.warn(`device ${deviceId}: disconnected for exceeding its message rate persistently`);
    } catch (e) {
      this.logger.error(`device ${deviceId}: disconnecting it for its message rate failed: ${String(e)}`);
    }
  }

  /** Waits for handling already under way, so shutdown does not cut database writes short. */
  drain(): Promise<void> {
    this.held.release();
    return this.queue.drain();
  }

  private dispatch<C extends DeviceChannel>(deviceId: string, channel: C, payload: Buffer): Promise<void> {
    const decoded = decodePayload(channel, payload);
    if (!decoded.ok) {
      this.stats.rejected();
      this.logger.warn(`device ${deviceId}: dropped invalid ${channel} message: ${decoded.reason}`);
      return Promise.resolve();
    }
    const value = this.inClockWindow(channel, decoded.value);
    if (value === undefined) return Promise.resolve();
    const handler: Handlers[C] = this.handlers[channel];
    if (channel === 'events') return this.events.take(deviceId, () => handler(deviceId, value));
    const latest = this.latest.get(channel);
    if (latest) return latest.run(deviceId, value, (v) => handler(deviceId, v as ChannelPayload<C>));
    return this.queue.run(deviceId, () => handler(deviceId, value));
  }

  /** Not itself subject to the events quota: one event per device and interval at most. */
  private recordExcess(): void {
    for (const { deviceId, message } of this.excess.take()) {
      const event: RecordedEvent = { schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), kind: 'quota-exceeded', message };
      void this.events.take(deviceId, () => this.link.event(deviceId, event));
    }
  }

  /** Device timestamps that are stored (telemetry samples, events) are held to the clock window; undefined when nothing is left. */
  private inClockWindow<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>): ChannelPayload<C> | undefined {
    const now = Date.now();
    if (channel === 'telemetry') {
      const { kept, dropped } = samplesInWindow(value as ChannelPayload<'telemetry'>, now, this.clock);
      this.limitStats.count('clockSkew', { channel, action: 'dropped' }, dropped);
      return kept as ChannelPayload<C> | undefined;
    }
    if (channel === 'events') {
      const { event, clamped } = eventInWindow(value as ChannelPayload<'events'>, now, this.clock);
      if (clamped) this.limitStats.count('clockSkew', { channel, action: 'server-time' });
      return event as ChannelPayload<C>;
    }
    return value;
  }

  /** Closes the window between a credential check in flight and a decommission that revoked it meanwhile. */
  private async online(deviceId: string): Promise<void> {
    if ((await this.link.connected(deviceId)) === 'revoked' && (await this.broker.disconnect(deviceId))) {
      this.logger.warn(`device ${deviceId}: connected as it was being decommissioned; disconnected`);
    }
  }

  /**
   * A device's own `online` (a status message, or its last will, which the broker publishes after
   * the connection closed, so after `offline`) counts only while the device has a live session here,
   * as an `offline` yields to one: a will saying `online` left the device online for good. The
   * external broker cannot tell (no session list here); there the presence reconciliation
   * (`presence-reconcile`, the broker's connection list) marks it offline once it has been quiet.
   */
  private async statusOnline(deviceId: string): Promise<void> {
    if (this.broker.reportsPresence && !this.broker.hasLiveSession(deviceId)) return;
    await this.online(deviceId);
  }

  /**
   * An `offline` will or disconnect can arrive after the same device has already reconnected
   * (a session takeover closes the old connection first); the live session wins.
   */
  private async offline(deviceId: string): Promise<void> {
    if (this.broker.hasLiveSession(deviceId)) return;
    await this.link.disconnected(deviceId);
  }
}
