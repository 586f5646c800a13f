import { connectAsync, type MqttClient } from 'mqtt';
import {
  PROTOCOL_SCHEMA,
  decodePayload,
  deviceTopic,
  type Command,
  type CommandResult,
  type Desired,
  type Reported,
  type SlotRef,
  type UpdatePhase,
} from '@flotilla/shared';

/** What a simulated device does with a new desired release. */
export type UpdateBehavior = 'commit' | 'rollback' | 'hang';

export interface SimDeviceOptions {
  mqttUrl: string;
  deviceId: string;
  password: string;
  /** Decides per release; default: commit everything. */
  behavior?: (desired: Desired) => UpdateBehavior;
  /** Time from receiving a desired state to its commit or rollback. */
  updateMs?: number;
  /** Answer to a command; undefined means no answer at all (to test timeouts). Default: ok. */
  onCommand?: (command: Command) => Omit<CommandResult, 'schema' | 'id'> | undefined;
  /** Reconnect after the broker went away (a control-plane restart); 0 disables it. */
  reconnectPeriodMs?: number;
}

/**
 * A lightweight device speaking protocol v1 over a real MQTT connection: it subscribes to its
 * `desired` and `cmd`, asks for its desired state after every (re)connect, and walks the A/B
 * update phases in its `reported` state, ending in a commit or a rollback as told. No
 * containers: what it simulates is the protocol, so that many can run in one test (and, later,
 * in `flotilla sim`).
 */
export class SimDevice {
  readonly deviceId: string;
  /** Every desired state received, in order. */
  readonly received: Desired[] = [];
  private client: MqttClient | undefined;
  private rev = 0;
  private phase: UpdatePhase = 'idle';
  private active: SlotRef | null = null;
  private candidate: SlotRef | null = null;
  private failedRev: number | null = null;
  private lastFailure: string | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: SimDeviceOptions) {
    this.deviceId = options.deviceId;
  }

  get activeReleaseId(): string | null {
    return this.active?.releaseId ?? null;
  }

  async start(): Promise<this> {
    const { deviceId, password } = this.options;
    const client = await connectAsync(this.options.mqttUrl, {
      clientId: deviceId,
      username: deviceId,
      password,
      protocolVersion: 4,
      reconnectPeriod: this.options.reconnectPeriodMs ?? 0,
      connectTimeout: 5000,
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('connect', () => void this.hello());
    await this.hello();
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.client?.endAsync(true).catch(() => undefined);
  }

  /** After every connect: subscribe (clean session), say where it stands, ask for news. */
  private async hello(): Promise<void> {
    const client = this.client;
    if (!client) return;
    await client.subscribeAsync([deviceTopic(this.deviceId, 'desired'), deviceTopic(this.deviceId, 'cmd')], { qos: 1 });
    await this.report();
    await this.publish('desired/get', { schema: PROTOCOL_SCHEMA, rev: this.rev });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === deviceTopic(this.deviceId, 'desired')) {
      const decoded = decodePayload('desired', payload);
      if (decoded.ok) this.onDesired(decoded.value);
    } else if (topic === deviceTopic(this.deviceId, 'cmd')) {
      const decoded = decodePayload('cmd', payload);
      if (decoded.ok) void this.onCommand(decoded.value);
    }
  }

  private onDesired(desired: Desired): void {
    if (desired.rev <= this.rev) return;
    this.received.push(desired);
    this.rev = desired.rev;
    const release = desired.release;
    const slot: SlotRef = { rev: desired.rev, releaseId: release?.id ?? null, version: release?.assembly.version ?? null };
    const behavior = this.options.behavior?.(desired) ?? 'commit';
    this.phase = 'fetch';
    this.candidate = slot;
    void this.report();
    this.later(Math.floor((this.options.updateMs ?? 100) / 2), () => {
      if (this.rev !== slot.rev) return;
      this.phase = 'probation';
      void this.report();
    });
    if (behavior === 'hang') return;
    this.later(this.options.updateMs ?? 100, () => {
      if (this.rev !== slot.rev) return;
      if (behavior === 'commit') {
        this.active = slot;
      } else {
        this.failedRev = slot.rev;
        this.lastFailure = `probation: component "web" unhealthy on ${this.deviceId} (simulated)`;
      }
      this.phase = 'idle';
      this.candidate = null;
      void this.report();
    });
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
      },
      components: [],
    };
    return this.publish('reported', reported);
  }

  private async publish(channel: 'reported' | 'desired/get' | 'cmd/res', body: unknown): Promise<void> {
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
