import {
  PROTOCOL_SCHEMA,
  type ChannelPayload,
  type Command,
  type CommandResult,
  type Desired,
  type DeviceChannel,
  type DeviceEvent,
  type Inventory,
  type Reported,
  type UpdatePhase,
} from '@flotilla/shared';
import { runCommand } from './link/commands';
import { Reconciler } from './reconcile/reconciler';
import type { TargetState } from './reconcile/state';
import { targetFromDesired } from './reconcile/target';
import { componentStatuses } from './reporting/component-status';
import type { ContainerRuntime } from './runtime/container-runtime';
import type { AppliedState, AppliedStateStore } from './state/applied-store';
import { backoffMs, type Clock } from './support/clock';
import { errorMessage, isTerminal } from './support/errors';
import type { Logger } from './support/logger';
import type { TelemetrySample } from './hardware/telemetry';
import { AGENT_VERSION } from './version';

/** Where the agent's messages go; `MqttLink` in production. */
export interface Uplink {
  publish<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>): void;
}

export interface AgentSettings {
  reportIntervalMs: number;
  reconcileIntervalMs: number;
  telemetryIntervalMs: number;
  healthTimeoutMs: number;
  healthPollMs: number;
}

export const DEFAULT_SETTINGS: AgentSettings = {
  reportIntervalMs: 10_000,
  reconcileIntervalMs: 30_000,
  telemetryIntervalMs: 60_000,
  healthTimeoutMs: 120_000,
  healthPollMs: 1_000,
};

export interface AgentDeps {
  runtime: ContainerRuntime;
  store: Pick<AppliedStateStore, 'path' | 'load' | 'save'>;
  clock: Clock;
  logger: Logger;
  collectInventory: () => Promise<Inventory>;
  sampleTelemetry: () => Promise<TelemetrySample>;
  settings?: Partial<AgentSettings>;
}

/**
 * The device's loop: hold one desired state, converge the engine to it, say how it went.
 * A newer desired state supersedes one being applied (the current apply stops between
 * steps). After a success the engine is re-checked periodically, so a container removed
 * by hand comes back; a transient failure is retried with backoff, a terminal one waits
 * for a newer rev.
 */
export class Agent {
  private readonly settings: AgentSettings;
  private uplink: Uplink | undefined;
  private applied: AppliedState | undefined;
  private acting: { desired: Desired; abort: AbortController } | undefined;
  private pending: Desired | undefined;
  private phase: UpdatePhase = 'idle';
  private failures = 0;
  private retryAt = 0;
  private lastCheck = 0;
  private lastReport = '';
  private inventory: Inventory | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private worker: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: AgentDeps) {
    this.settings = { ...DEFAULT_SETTINGS, ...deps.settings };
  }

  /** Loads what the agent held before a restart and converges to it, without waiting for the network. */
  async start(uplink: Uplink): Promise<void> {
    this.uplink = uplink;
    this.applied = await this.deps.store.load();
    if (this.applied) {
      this.phase = this.applied.outcome === 'applied' ? 'running' : 'failed';
      this.deps.logger.info('resuming', { rev: this.applied.desired.rev, outcome: this.applied.outcome });
      if (this.applied.outcome === 'applied' || !this.applied.terminal) this.enqueue(this.applied.desired);
    }
    this.every(this.settings.reportIntervalMs, () => this.tick());
    this.every(this.settings.telemetryIntervalMs, () => this.publishTelemetry());
    void this.refreshInventory();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.forEach((t) => clearInterval(t));
    this.acting?.abort.abort();
    await this.settled();
  }

  /** Resolves once no apply is running or queued; for tests and for an orderly shutdown. */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.worker;
      await seen;
    } while (seen !== this.worker);
  }

  heldRev(): number {
    return Math.max(this.applied?.desired.rev ?? 0, this.acting?.desired.rev ?? 0, this.pending?.rev ?? 0);
  }

  desire(desired: Desired): void {
    if (desired.rev <= this.heldRev()) return;
    this.deps.logger.info('desired state received', { rev: desired.rev, releaseId: desired.release?.id ?? null });
    this.acting?.abort.abort();
    this.enqueue(desired);
  }

  command(command: Command): Promise<CommandResult> {
    return runCommand(command, this.deps);
  }

  /** After every (re)connect: the control plane may have missed reports and inventory while the device was away. */
  onConnected(): void {
    this.lastReport = '';
    if (this.inventory) this.uplink?.publish('inventory', this.inventory);
    void this.report();
  }

  private enqueue(desired: Desired): void {
    this.pending = desired;
    this.worker = this.worker.then(() => this.drain());
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.stopped) {
      const desired = this.pending;
      this.pending = undefined;
      await this.apply(desired, desired.rev !== this.applied?.desired.rev || this.applied.outcome === 'failed');
    }
  }

  /** `announce` is false for a quiet re-check of what is already applied. */
  private async apply(desired: Desired, announce: boolean): Promise<void> {
    const abort = new AbortController();
    this.acting = { desired, abort };
    const target = targetFromDesired(desired);
    if (announce) {
      this.phase = 'applying';
      this.event('apply-started', desired.rev, `applying release ${desired.release?.id ?? '(none)'}`);
      await this.report();
    }
    try {
      const result = await this.reconciler(abort.signal).reconcile(target);
      if (abort.signal.aborted) return;
      for (const step of result.executed) {
        if (step.action === 'create-and-start') this.event('component-started', desired.rev, `started ${step.component.spec.name}`);
      }
      if (announce || result.executed.length > 0)
        this.deps.logger.info('converged', { rev: desired.rev, steps: result.executed.length, passes: result.passes });
      // A quiet re-check of what is already recorded as applied writes nothing: SD cards wear out.
      if (announce) await this.record(desired, { outcome: 'applied' });
      this.phase = 'running';
      this.failures = 0;
      if (announce) this.event('apply-succeeded', desired.rev, `running ${describeTarget(target)}`);
    } catch (err) {
      if (abort.signal.aborted) return;
      const terminal = isTerminal(err);
      await this.record(desired, { outcome: 'failed', error: errorMessage(err), terminal });
      this.phase = 'failed';
      this.retryAt = this.deps.clock.now().getTime() + backoffMs(this.failures++, 10_000, 300_000);
      this.deps.logger.error('apply failed', {
        rev: desired.rev,
        error: errorMessage(err),
        code: (err as { code?: string }).code,
        terminal,
      });
      this.event('apply-failed', desired.rev, errorMessage(err));
    } finally {
      this.acting = undefined;
      await this.report();
    }
  }

  private reconciler(signal: AbortSignal): Reconciler {
    return new Reconciler({
      runtime: this.deps.runtime,
      clock: this.deps.clock,
      logger: this.deps.logger,
      healthTimeoutMs: this.settings.healthTimeoutMs,
      healthPollMs: this.settings.healthPollMs,
      signal,
      onPullProgress: (image, p) => {
        if (p.status.startsWith('Status:') || p.status.startsWith('Digest:')) this.deps.logger.info('pull', { image, status: p.status });
      },
    });
  }

  private async record(desired: Desired, outcome: Pick<AppliedState, 'outcome' | 'error' | 'terminal'>): Promise<void> {
    this.applied = { version: 1, desired, ...outcome, at: this.deps.clock.now().toISOString() };
    try {
      await this.deps.store.save(this.applied);
    } catch (err) {
      this.deps.logger.error('could not persist applied state', { path: this.deps.store.path, error: errorMessage(err) });
    }
  }

  /** Level-based upkeep: re-check a running assembly, retry a transient failure when its backoff ends, report changes. */
  private async tick(): Promise<void> {
    const idle = !this.acting && !this.pending;
    const applied = this.applied;
    if (idle && applied) {
      const due = this.deps.clock.now().getTime() >= this.retryAt;
      if (applied.outcome === 'applied' && this.sinceLastCheck() >= this.settings.reconcileIntervalMs) this.enqueueCheck(applied.desired);
      else if (applied.outcome === 'failed' && !applied.terminal && due) this.enqueue(applied.desired);
    }
    await this.report();
  }

  private sinceLastCheck(): number {
    return this.deps.clock.now().getTime() - this.lastCheck;
  }

  private enqueueCheck(desired: Desired): void {
    this.lastCheck = this.deps.clock.now().getTime();
    this.enqueue(desired);
  }

  private async report(): Promise<void> {
    const held = this.acting?.desired ?? this.applied?.desired;
    let containers;
    try {
      containers = await this.deps.runtime.listContainers();
    } catch (err) {
      this.deps.logger.warn('cannot read container states for the report', { error: errorMessage(err) });
      return;
    }
    const target = held ? targetFromDesired(held) : null;
    const body: Omit<Reported, 'at'> = {
      schema: PROTOCOL_SCHEMA,
      agentVersion: AGENT_VERSION,
      rev: held?.rev ?? 0,
      releaseId: held?.release?.id ?? null,
      phase: this.phase,
      components: componentStatuses(containers, target),
      ...(this.phase === 'failed' && this.applied?.error ? { error: this.applied.error } : {}),
    };
    const key = JSON.stringify(body);
    if (key === this.lastReport) return;
    this.lastReport = key;
    this.uplink?.publish('reported', { ...body, at: this.deps.clock.now().toISOString() });
  }

  private event(kind: DeviceEvent['kind'], rev: number, message: string): void {
    this.uplink?.publish('events', {
      schema: PROTOCOL_SCHEMA,
      at: this.deps.clock.now().toISOString(),
      kind,
      rev,
      message: message.slice(0, 2_000),
    });
  }

  private async publishTelemetry(): Promise<void> {
    const sample = await this.deps.sampleTelemetry();
    this.uplink?.publish('telemetry', { schema: PROTOCOL_SCHEMA, samples: [sample] });
  }

  private async refreshInventory(): Promise<void> {
    try {
      this.inventory = await this.deps.collectInventory();
      this.uplink?.publish('inventory', this.inventory);
    } catch (err) {
      this.deps.logger.warn('inventory failed', { error: errorMessage(err) });
    }
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((err: unknown) => this.deps.logger.error('periodic task failed', { error: errorMessage(err) }));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

function describeTarget(target: TargetState | null): string {
  return target ? `${target.assembly} (${target.components.map((c) => c.spec.name).join(', ')})` : 'nothing';
}
