import type { MqttClient } from 'mqtt';
import {
  DEVICE_RECONNECT_POLICY,
  PROTOCOL_SCHEMA,
  ReconnectSchedule,
  deviceTopic,
  isServerBusy,
  nextWindow,
  type Command,
  type Desired,
  type DeviceEvent,
  type SlotRef,
  type UpdateDeferral,
  type UpdatePhase,
  type Inventory,
} from '@flotilla/shared';
import { connectSimDevice, isPaced } from './sim-connection';
import { SimAdmission } from './sim-admission';
import type { SimDeviceOptions } from './sim-device-options';
import { keep } from './kept-history';
import { simInventory, simReported, simTelemetry, simUpdateEvent } from './sim-messages';

/**
 * A lightweight device speaking protocol v1 over a real MQTT connection: it subscribes to its
 * `desired` and `cmd`, asks for its desired state after every (re)connect, and walks the A/B
 * update phases in its `reported` state, ending in a commit or a rollback as told. Optionally it
 * sends an inventory and periodic telemetry. No containers: what it simulates is the protocol,
 * so that thousands run in one process (tests, `flotilla sim`, benchmarks, the demo).
 */
export class SimDevice {
  readonly deviceId: string;
  /** The last `KEPT_HISTORY` desired states received, oldest first. */
  readonly received: Desired[] = [];
  /** Telemetry samples published (counted when handed to the client). */
  telemetrySent = 0;
  /** Of those, the ones the broker acknowledged (PUBACK); one unacknowledged at `stop()` may never have reached it. */
  telemetryAcked = 0;
  /** Connect attempts that failed before the first connect succeeded. */
  connectFailures = 0;
  /** Established connections that ended other than by `stop()` (a broker closing it, a node lost). */
  disconnects = 0;
  private client: MqttClient | undefined;
  private rev = 0;
  private phase: UpdatePhase = 'idle';
  private active: SlotRef | null = null;
  private candidate: SlotRef | null = null;
  private failedRev: number | null = null;
  /** While a simulated update lock defers the switch: since when, and how the release proceeds. */
  private deferral: UpdateDeferral | null = null;
  private lockReleased: (() => void) | undefined;
  /** When (by its clock) it switched to each of its last `KEPT_HISTORY` updates: tests check these against its windows. */
  readonly switchedAt: number[] = [];
  private lastFailure: string | null = null;
  private readonly check: SimAdmission;
  private readonly timers = new Set<NodeJS.Timeout>();
  private telemetryTimer: NodeJS.Timeout | undefined;
  private telemetryStopped = false;
  private readonly random: () => number;
  /** Paces the first connect's retries, and every reconnect when `options.reconnect` is set. */
  private readonly schedule: ReconnectSchedule;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: SimDeviceOptions) {
    this.deviceId = options.deviceId;
    this.random = options.random ?? Math.random;
    this.schedule = new ReconnectSchedule(options.reconnect ?? DEVICE_RECONNECT_POLICY, this.random);
    this.check = new SimAdmission(options.deviceId, options.releaseKeys, options.verifiedSignatures);
  }

  get activeReleaseId(): string | null {
    return this.active?.releaseId ?? null;
  }

  /** The highest desired rev this device holds (committed, on trial or refused). */
  get heldRev(): number {
    return this.rev;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  async start(): Promise<this> {
    const client = await this.connect();
    this.client = client;
    this.schedule.connected(performance.now());
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    // A failed reconnect attempt closes too: only the end of an established connection counts.
    let up = true;
    client.on('close', () => {
      if (up && !this.stopped) this.disconnects++;
      up = false;
    });
    client.on('connect', () => {
      up = true;
      this.schedule.connected(performance.now());
      void this.hello();
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'number' && isServerBusy(code)) this.schedule.serverBusy();
    });
    if (this.paced) client.on('close', () => this.onClose());
    await this.hello();
    if (this.options.inventory) await this.publish('inventory', this.inventoryMessage());
    const every = this.options.telemetryEveryMs ?? 0;
    if (every > 0) {
      this.later(Math.floor(this.random() * every), () => {
        this.sendTelemetry();
        this.telemetryTimer = setInterval(() => this.sendTelemetry(), every);
      });
    }
    return this;
  }

  private connect(): Promise<MqttClient> {
    return connectSimDevice(this.options, this.schedule, () => this.connectFailures++);
  }

  /** Reconnects by the shared schedule, as the agent's link does. */
  private get paced(): boolean {
    return isPaced(this.options);
  }

  private onClose(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped) this.client?.connect();
    }, this.schedule.closed(performance.now()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearInterval(this.telemetryTimer);
    await this.client?.endAsync(true).catch(() => undefined);
  }

  /** After every connect: subscribe (clean session), say where it stands, ask for news. */
  private async hello(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.options.onConnect?.(this);
    await client
      .subscribeAsync([deviceTopic(this.deviceId, 'desired'), deviceTopic(this.deviceId, 'cmd')], { qos: 1 })
      .catch(() => undefined);
    await this.report();
    await this.publish('desired/get', { schema: PROTOCOL_SCHEMA, rev: this.rev });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === deviceTopic(this.deviceId, 'desired')) {
      const outcome = this.check.admit(payload, this.rev);
      if (outcome.ok) this.onDesired(outcome.statement, payload);
      else if (!outcome.duplicate) this.options.onRefused?.(this, outcome.reason);
    } else if (topic === deviceTopic(this.deviceId, 'cmd')) {
      const outcome = this.check.command(payload);
      if (outcome.ok) void this.onCommand(outcome.statement);
      else if (outcome.id) void this.publish('cmd/res', { schema: PROTOCOL_SCHEMA, id: outcome.id, ok: false, error: outcome.reason });
    }
  }

  private onDesired(desired: Desired, payload: Buffer): void {
    keep(this.received, desired);
    this.options.onDesired?.(this, desired, payload);
    this.rev = desired.rev;
    const release = desired.release;
    const slot: SlotRef = { rev: desired.rev, releaseId: release?.id ?? null, version: release?.assembly.version ?? null };
    const chosen = this.options.behavior?.(desired) ?? 'commit';
    const behavior = chosen === 'lock' && desired.updatePolicy?.force ? 'commit' : chosen;
    const updateMs = this.options.updateMs ?? 100;
    this.phase = 'fetch';
    this.candidate = slot;
    this.deferral = behavior === 'lock' ? { waitingFor: 'lock', since: new Date(this.now()).toISOString(), components: ['printer'] } : null;
    void this.report();
    if (behavior === 'lock') {
      this.lockReleased = () => this.later(0, () => this.settle(slot, 'commit'));
      return;
    }
    // The outcome is scheduled from the probation step, not beside it: two independent timers
    // can fire out of order on a saturated load generator, leaving a committed device
    // reporting probation for ever.
    this.later(Math.floor(updateMs / 2), () =>
      this.whenWindowOpen(desired, () => {
        this.phase = 'probation';
        void this.report();
        if (behavior !== 'hang') this.later(updateMs - Math.floor(updateMs / 2), () => this.settle(slot, behavior));
      }),
    );
  }

  /**
   * Downloaded: switch only inside one of the desired state's maintenance windows (in this
   * device's time zone, by its clock, which a test may simulate), as the agent does.
   */
  private whenWindowOpen(desired: Desired, proceed: () => void): void {
    if (this.rev !== desired.rev) return;
    const windows = desired.updatePolicy?.force ? [] : (desired.updatePolicy?.windows ?? []);
    const state = nextWindow(windows, this.options.timeZone ?? 'UTC', this.now());
    if (!state || state.open) {
      this.deferral = null;
      keep(this.switchedAt, this.now());
      return proceed();
    }
    if (this.deferral?.waitingFor !== 'window') {
      const opensAt = new Date(state.opensAt).toISOString();
      this.deferral = { waitingFor: 'window', since: new Date(this.now()).toISOString(), components: [], opensAt };
      void this.report();
    }
    this.later(50, () => this.whenWindowOpen(desired, proceed));
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The simulated component releases its update lock: a waiting update switches and commits. */
  releaseLock(): void {
    const proceed = this.lockReleased;
    this.lockReleased = undefined;
    proceed?.();
  }

  private settle(slot: SlotRef, behavior: 'commit' | 'rollback'): void {
    if (this.rev !== slot.rev) return;
    this.deferral = null;
    if (behavior === 'commit') {
      this.active = slot;
      this.event('update-committed', slot, `committed ${slot.version ?? 'empty assembly'} (rev ${slot.rev})`);
    } else {
      this.failedRev = slot.rev;
      this.lastFailure = `probation: component "web" unhealthy on ${this.deviceId} (simulated)`;
      this.event('update-rolled-back', slot, this.lastFailure);
    }
    this.phase = 'idle';
    this.candidate = null;
    void this.report();
    this.options.onSettled?.(this, behavior, slot.rev);
  }

  private async onCommand(command: Command): Promise<void> {
    const answer = this.options.onCommand ? this.options.onCommand(command) : { ok: true, output: `${command.name} done` };
    if (!answer) return;
    await this.publish('cmd/res', { schema: PROTOCOL_SCHEMA, id: command.id, ...answer });
  }

  private report(): Promise<boolean> {
    const { rev, phase, active, candidate, failedRev, lastFailure, deferral } = this;
    const state = { rev, phase, active, candidate, failedRev, lastFailure, deferral };
    return this.publish('reported', simReported(state, this.options.os, new Date()));
  }

  private event(kind: DeviceEvent['kind'], slot: SlotRef, message: string): void {
    if (!this.options.events) return;
    void this.publish('events', simUpdateEvent(kind, slot, message, new Date()));
  }

  /** Sends no more telemetry (a benchmark's final count of samples sent stays final). */
  stopTelemetry(): void {
    this.telemetryStopped = true;
    clearInterval(this.telemetryTimer);
  }

  private sendTelemetry(): void {
    if (this.telemetryStopped) return;
    const telemetry = simTelemetry(this.random, new Date());
    if (!this.client?.connected) return;
    this.telemetrySent++;
    void this.publish('telemetry', telemetry).then((acked) => acked && this.telemetryAcked++);
  }

  private inventoryMessage(): Inventory {
    return simInventory(this.deviceId, this.options, new Date());
  }

  private async publish(
    channel: 'reported' | 'desired/get' | 'cmd/res' | 'telemetry' | 'inventory' | 'events',
    body: unknown,
  ): Promise<boolean> {
    const client = this.client;
    if (!client?.connected) return false;
    return client.publishAsync(deviceTopic(this.deviceId, channel), JSON.stringify(body), { qos: 1 }).then(
      () => true,
      () => false,
    );
  }

  private later(ms: number, task: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, ms);
    this.timers.add(timer);
  }
}
