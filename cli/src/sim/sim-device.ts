import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import {
  DEVICE_RECONNECT_POLICY,
  PROTOCOL_SCHEMA,
  ReconnectSchedule,
  decodePayload,
  deviceTopic,
  isServerBusy,
  nextWindow,
  type ReleaseKey,
  type Command,
  type CommandResult,
  type Desired,
  type DeviceEvent,
  type Inventory,
  type OsStatus,
  type ReconnectPolicy,
  type Reported,
  type SlotRef,
  type Telemetry,
  type UpdateDeferral,
  type UpdatePhase,
  type VerifiedSignatures,
} from '@flotilla/shared';
import { SimDesiredCheck } from './sim-desired-check';

export interface SimTls {
  ca: string[];
  cert?: string;
  key?: string;
}

/**
 * What a simulated device does with a new desired release. `lock`: a component holds an update
 * lock, so after the download the device waits (`reported.update.deferred`) until `releaseLock()`
 * or a desired state with `updatePolicy.force`, then commits, as the agent does.
 */
export type UpdateBehavior = 'commit' | 'rollback' | 'hang' | 'lock';

export interface SimDeviceOptions {
  mqttUrl: string;
  deviceId: string;
  /** MQTT password; a device with a client certificate (`tls.cert`) needs none. */
  password?: string;
  /** For mqtts:// and wss://: the CAs to verify the broker with, and the device's own certificate and key. */
  tls?: SimTls;
  /** A persistent MQTT session (clean = false), as the agent keeps; default a clean session. */
  persistentSession?: boolean;
  /** Decides per release; default: commit everything. */
  behavior?: (desired: Desired) => UpdateBehavior;
  /** Time from receiving a desired state to its commit or rollback. */
  updateMs?: number;
  /** Answer to a command; undefined means no answer at all (to test timeouts). Default: ok. */
  onCommand?: (command: Command) => Omit<CommandResult, 'schema' | 'id'> | undefined;
  /**
   * Reconnect after the broker went away as the agent does: the shared schedule
   * (shared/src/protocol/reconnect.ts), busy signals honoured. Absent: no reconnect.
   */
  reconnect?: ReconnectPolicy;
  /** Reconnect at a fixed period instead, as devices did before the schedule (benchmarks compare the two). */
  reconnectPeriodMs?: number;
  /** One telemetry sample every this many ms (first one at a random offset); 0 or absent: none. */
  telemetryEveryMs?: number;
  /** Publish an inventory after the first connect. */
  inventory?: boolean;
  /** Publish update events (update-phase, update-committed, update-rolled-back) as an agent does. */
  events?: boolean;
  /** Called after a device has committed or rolled back a rev (for the simulator's statistics). */
  onSettled?: (device: SimDevice, outcome: 'commit' | 'rollback', rev: number) => void;
  /** Called when a new desired rev arrives, with the `desired` message as it arrived. */
  onDesired?: (device: SimDevice, desired: Desired, payload: Buffer) => void;
  /** Called on every connect (first and after each reconnect). */
  onConnect?: (device: SimDevice) => void;
  /**
   * The control plane's release keys from the registration answer: given, the device checks the
   * signature of every desired state as an agent does (following the key chain it carries);
   * absent, it still refuses one for another device, stale, or not newer.
   */
  releaseKeys?: readonly ReleaseKey[];
  /** Signatures verified by the simulation's other devices (a batch shares one): checked once. */
  verifiedSignatures?: VerifiedSignatures;
  /** Called for each desired message refused, with the reason. */
  onRefused?: (device: SimDevice, reason: string) => void;
  /** The time zone its inventory reports (maintenance windows are in it). Default UTC. */
  timeZone?: string;
  /** Its clock, for maintenance windows (a test may simulate it). Default: real time. */
  now?: () => number;
  /** Board model reported in the inventory. */
  board?: string;
  /** The OS status to report (`reported.os`), as an agent on an A/B OS does; absent: none. */
  os?: OsStatus;
  /**
   * Connect attempts before start() gives up; a refused or timed-out connect (e.g. "server
   * unavailable" during a connect storm) is retried after 1-3 s, as an agent does. Default 1.
   */
  connectAttempts?: number;
  /** Source of randomness for telemetry values and offsets; default Math.random. */
  random?: () => number;
}

/**
 * A lightweight device speaking protocol v1 over a real MQTT connection: it subscribes to its
 * `desired` and `cmd`, asks for its desired state after every (re)connect, and walks the A/B
 * update phases in its `reported` state, ending in a commit or a rollback as told. Optionally it
 * sends an inventory and periodic telemetry. No containers: what it simulates is the protocol,
 * so that thousands run in one process (tests, `flotilla sim`, benchmarks, the demo).
 */
export class SimDevice {
  readonly deviceId: string;
  /** Every desired state received, in order. */
  readonly received: Desired[] = [];
  /** Telemetry samples published (counted when handed to the client). */
  telemetrySent = 0;
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
  /** When (by its clock) it switched to each update: tests check these against its windows. */
  readonly switchedAt: number[] = [];
  private lastFailure: string | null = null;
  private readonly check: SimDesiredCheck;
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
    this.check = new SimDesiredCheck(options.deviceId, options.releaseKeys, options.verifiedSignatures);
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

  private async connect(): Promise<MqttClient> {
    const { deviceId, password, tls } = this.options;
    const attempts = this.options.connectAttempts ?? 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await connectAsync(
          this.options.mqttUrl,
          {
            clientId: deviceId,
            ...(password ? { username: deviceId, password } : {}),
            ...(tls ? { ca: tls.ca, rejectUnauthorized: true, ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}) } : {}),
            protocolVersion: 4,
            clean: !this.options.persistentSession,
            // Paced reconnects are timed by the device (onClose), a fixed period by mqtt.js.
            reconnectPeriod: this.paced ? 0 : (this.options.reconnectPeriodMs ?? 0),
            // A broker that answers "server unavailable" (its database busy in a reconnect storm)
            // must be retried; by default mqtt.js gives up for good after a refused CONNACK.
            reconnectOnConnackError: !this.paced && (this.options.reconnectPeriodMs ?? 0) > 0,
            connectTimeout: 30_000,
          },
          // Without this, mqtt.js keeps retrying a refused first connect by itself and never rejects.
          false,
        );
      } catch (e) {
        if (attempt >= attempts) throw e;
        this.connectFailures++;
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'number' && isServerBusy(code)) this.schedule.serverBusy();
        await new Promise((resolve) => setTimeout(resolve, this.schedule.closed(performance.now())));
      }
    }
  }

  /** Reconnects by the shared schedule, as the agent's link does. */
  private get paced(): boolean {
    return this.options.reconnect !== undefined && this.options.reconnectPeriodMs === undefined;
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
      const decoded = decodePayload('cmd', payload);
      if (decoded.ok) void this.onCommand(decoded.value);
    }
  }

  private onDesired(desired: Desired, payload: Buffer): void {
    this.received.push(desired);
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
      this.switchedAt.push(this.now());
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

  private report(): Promise<void> {
    const reported: Reported = {
      schema: PROTOCOL_SCHEMA,
      at: new Date().toISOString(),
      agentVersion: 'sim-0.1.0',
      rev: this.rev,
      update: {
        phase: this.phase,
        active: this.active,
        candidate: this.candidate,
        failedRev: this.failedRev,
        lastFailure: this.lastFailure,
        ...(this.deferral ? { deferred: this.deferral } : {}),
      },
      components: [],
      ...(this.options.os ? { os: this.options.os } : {}),
    };
    return this.publish('reported', reported);
  }

  private event(kind: DeviceEvent['kind'], slot: SlotRef, message: string): void {
    if (!this.options.events) return;
    // An id, as the agent gives: a copy delivered again is stored once.
    const event: DeviceEvent = { schema: PROTOCOL_SCHEMA, id: randomUUID(), at: new Date().toISOString(), kind, rev: slot.rev, message };
    if (slot.releaseId) event.releaseId = slot.releaseId;
    void this.publish('events', event);
  }

  /** Sends no more telemetry (a benchmark's final count of samples sent stays final). */
  stopTelemetry(): void {
    this.telemetryStopped = true;
    clearInterval(this.telemetryTimer);
  }

  private sendTelemetry(): void {
    if (this.telemetryStopped) return;
    const memTotalBytes = 4 * 1024 ** 3;
    const telemetry: Telemetry = {
      schema: PROTOCOL_SCHEMA,
      samples: [
        {
          at: new Date().toISOString(),
          cpuPercent: Math.round((5 + this.random() * 30) * 10) / 10,
          memUsedBytes: Math.round(memTotalBytes * (0.2 + this.random() * 0.3)),
          memTotalBytes,
          temperatureC: Math.round((45 + this.random() * 15) * 10) / 10,
        },
      ],
    };
    if (!this.client?.connected) return;
    this.telemetrySent++;
    void this.publish('telemetry', telemetry);
  }

  private inventoryMessage(): Inventory {
    const n = parseInt(this.deviceId.slice(-4), 36) % 250;
    return {
      schema: PROTOCOL_SCHEMA,
      at: new Date().toISOString(),
      hostname: this.deviceId.replace(/^dev_/, 'sim-').slice(0, 20),
      arch: 'arm64',
      timeZone: this.options.timeZone ?? 'UTC',
      board: { model: this.options.board ?? 'Raspberry Pi 4 Model B Rev 1.5 (simulated)', serial: this.deviceId.slice(-16) },
      cpu: { manufacturer: 'ARM', brand: 'Cortex-A72', cores: 4, speedGHz: 1.8 },
      memory: { totalBytes: 4 * 1024 ** 3 },
      os: { distro: 'Debian GNU/Linux', release: '12 (bookworm)', kernel: '6.6.51+rpt-rpi-v8' },
      disks: [{ mount: '/', fs: 'ext4', sizeBytes: 31_000_000_000, usedBytes: 6_200_000_000 }],
      network: [
        {
          iface: 'eth0',
          mac: `dc:a6:32:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`,
          ip4: `10.0.${n >> 8}.${n & 255}`,
        },
      ],
      temperatures: [{ zone: 'cpu-thermal', celsius: 52.1 }],
    };
  }

  private async publish(
    channel: 'reported' | 'desired/get' | 'cmd/res' | 'telemetry' | 'inventory' | 'events',
    body: unknown,
  ): Promise<void> {
    const client = this.client;
    if (!client?.connected) return;
    await client.publishAsync(deviceTopic(this.deviceId, channel), JSON.stringify(body), { qos: 1 }).catch(() => undefined);
  }

  private later(ms: number, task: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task();
    }, ms);
    this.timers.add(timer);
  }
}
