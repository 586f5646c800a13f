import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConnectGuard } from './connect-guard';
import { DEVICE_LIMITS, type DeviceLimits } from './device-limits';
import { LimitStats } from './limit-stats';
import { RefusalSummary } from './refusal-summary';

/** How often the guard forgets state that has returned to its default. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Where refused MQTT connections, logins and publishes go: a counter per reason on `/metrics`, and one
 * summary log line per `reportIntervalMs` (RefusalSummary), never a line per refusal.
 */
@Injectable()
export class MqttRefusals implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Broker');
  private readonly summary = new RefusalSummary();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly stats: LimitStats,
    private readonly guard: ConnectGuard,
    @Inject(DEVICE_LIMITS) private readonly limits: DeviceLimits,
  ) {}

  onModuleInit(): void {
    this.timers = [
      setInterval(() => this.flush(), this.limits.reportIntervalMs),
      setInterval(() => this.guard.sweep(Date.now()), SWEEP_EVERY_MS),
    ];
    for (const t of this.timers) t.unref();
  }

  onApplicationShutdown(): void {
    for (const t of this.timers) clearInterval(t);
    this.flush();
  }

  connection(reason: string, address: string): void {
    this.stats.count('connectionsRefused', { reason });
    this.summary.add(reason, address);
  }

  /** A connection closed for taking nothing of what waited to be sent to it (send-stall-watch.ts). */
  stalled(address: string): void {
    this.stats.count('sendStalled', { listener: 'mqtt' });
    this.summary.add('send-stalled', address);
  }

  /** `detail` says what failed when it was not the client's fault (a database error). */
  login(reason: string, address: string, detail?: string): void {
    this.stats.count('loginsRefused', { reason });
    this.summary.add(reason, address, detail);
  }

  /** The publishing device is disconnected by aedes; `deviceId` stands where an address does for the others. */
  publish(reason: string, deviceId: string): void {
    this.stats.count('publishesRefused', { reason });
    this.summary.add(`publish-${reason}`, `device ${deviceId}`);
  }

  /** Answered SUBACK 0x80; the device stays connected. */
  subscribe(reason: string, deviceId: string): void {
    this.stats.count('subscriptionsRefused', { reason });
    this.summary.add(`subscribe-${reason}`, `device ${deviceId}`);
  }

  /** Too many (or too large) PINGREQ, SUBSCRIBE or UNSUBSCRIBE packets: the connection is closed (broker/control-packet-budget.ts). */
  controlPackets(address: string): void {
    this.stats.count('controlPacketsRefused', {});
    this.summary.add('control-packets', address);
  }

  private flush(): void {
    const line = this.summary.take(this.limits.reportIntervalMs);
    if (line) this.logger.warn(line);
  }
}
