import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_SCHEMA,
  type ChannelPayload,
  type Command,
  type CommandResult,
  Desired,
  type DeviceChannel,
  type DeviceEvent,
  type Inventory,
  type LocalStatus,
  type Reported,
  toStorableText,
} from '@flotilla/shared/device';
import type { DesiredGate } from './admission/desired-gate';
import { inventoryFingerprint } from './hardware/inventory-change';
import type { TelemetrySample } from './hardware/telemetry';
import type { EventOutbox } from './link/outbox';
import { runCommand } from './link/commands';
import type { OsUpdates } from './os-update/os-updates';
import type { TrialChecks } from './os-update/os-update-plan';
import { targetFromDesired } from './reconcile/target';
import { componentStatuses } from './reporting/component-status';
import type { ContainerRuntime } from './runtime/container-runtime';
import type { SelfUpdate } from './self-update/self-update';
import type { Clock } from './support/clock';
import { errorMessage } from './support/errors';
import type { Logger } from './support/logger';
import { LockServer } from './update/locks/lock-server';
import type { LockStore } from './update/locks/lock-store';
import { UpdateLocks, lockingComponents } from './update/locks/update-locks';
import type { Phase, Slot } from './update/machine';
import { RegistryAccess } from './update/registry-access';
import { Updater, type UpdaterDeps, type UpdaterSettings } from './update/updater';
import { AGENT_VERSION } from './version';

/** Where the agent's messages go; `MqttLink` in production. */
export interface Uplink {
  publish<C extends DeviceChannel>(channel: C, value: ChannelPayload<C>, delivered?: () => void): void;
  readonly connected: boolean;
}

export interface AgentSettings {
  /** `reported` is checked at this pace and sent only when it changed. */
  reportIntervalMs: number;
  /** Re-check of a running assembly while no update is in progress. */
  reconcileIntervalMs: number;
  /** Telemetry samples are taken at `telemetrySampleMs` and sent in one batch every `telemetryIntervalMs`. */
  telemetryIntervalMs: number;
  telemetrySampleMs: number;
  /** The inventory is collected again at this pace and sent when it changed (`inventoryFingerprint`). */
  inventoryIntervalMs: number;
  /** OS updates: how often the committed release's OS image is looked at, and the trial boot checked. */
  osTickMs: number;
}

export const DEFAULT_SETTINGS: AgentSettings = {
  reportIntervalMs: 10_000,
  reconcileIntervalMs: 30_000,
  telemetryIntervalMs: 60_000,
  telemetrySampleMs: 10_000,
  inventoryIntervalMs: 10 * 60_000,
  osTickMs: 3_000,
};

export type AgentDeps = Omit<UpdaterDeps, 'onChange' | 'onEvent' | 'controlPlaneConnected' | 'registryAccess' | 'settings' | 'locks'> & {
  /** Update locks on disk (`<state dir>/locks`); absent: components cannot defer updates. */
  lockStore?: LockStore;
  runtime: ContainerRuntime;
  clock: Clock;
  logger: Logger;
  collectInventory: () => Promise<Inventory>;
  sampleTelemetry: () => Promise<TelemetrySample>;
  /** Where events wait while the control plane is unreachable. */
  outbox: Pick<EventOutbox, 'push' | 'drain'>;
  /** The device's id, as the control plane knows it. */
  deviceId: string;
  /** OS A/B updates, on an OS built with its root slots (`OsUpdates.forRunningOs`). */
  os?: OsUpdates;
  /** Agent self-updates, when the agent runs under its launcher (`SelfUpdate.fromEnv`). */
  selfUpdate?: { update: SelfUpdate; restart(): void };
  /** Status for apps on the board (`LocalStatusFile`); written at every report tick. */
  localStatus?: { write(status: LocalStatus): Promise<void> };
  /** Judges every `desired` message from the network (`receive`); without it the agent takes none. */
  gate?: Pick<DesiredGate, 'admit'>;
  settings?: Partial<AgentSettings & UpdaterSettings>;
};

/** At most this many samples wait for the next batch; older ones are dropped first. */
const MAX_BATCH = 1_000;

/**
 * The device's loop: hand desired states to the A/B updater, keep the active assembly
 * converged while idle, and tell the control plane what happens (reported state on change,
 * update events, batched telemetry, inventory after every connect).
 */
export class Agent {
  private readonly settings: AgentSettings;
  readonly updater: Updater;
  private readonly registryAccess: RegistryAccess;
  private readonly locks: UpdateLocks | undefined;
  private readonly lockServer: LockServer | undefined;
  private uplink: Uplink | undefined;
  private lastReport = '';
  private reporting: Promise<void> = Promise.resolve();
  private inventory: Inventory | undefined;
  private samples: TelemetrySample[] = [];
  private lastUpkeep = 0;
  private restartCounts = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: AgentDeps) {
    this.settings = { ...DEFAULT_SETTINGS, ...deps.settings };
    this.registryAccess = new RegistryAccess({
      clock: deps.clock,
      askRefresh: () => {
        deps.logger.info('registry token expired; asking for fresh ones', { rev: this.heldRev() });
        this.uplink?.publish('desired/get', { schema: PROTOCOL_SCHEMA, rev: this.heldRev(), refresh: true });
      },
    });
    const store = deps.lockStore;
    if (store) {
      this.lockServer = new LockServer({
        store,
        clock: deps.clock,
        logger: deps.logger,
        onChange: () => {
          this.locks?.wake();
          this.scheduleReport();
        },
      });
      this.locks = new UpdateLocks({
        store,
        runtime: deps.runtime,
        clock: deps.clock,
        logger: deps.logger,
        server: this.lockServer,
        onEvent: (kind, message) => this.event(kind, message, this.updater.current.candidate, 'fetch'),
      });
    }
    this.updater = new Updater({
      ...deps,
      registryAccess: this.registryAccess,
      ...(this.locks ? { locks: this.locks } : {}),
      controlPlaneConnected: () => this.uplink?.connected ?? false,
      onChange: () => this.scheduleReport(),
      onEvent: (kind, message, slot, phase) => this.event(kind, message, slot, phase),
    });
  }

  /** Resumes from the journal and converges without waiting for the network. */
  async start(uplink: Uplink): Promise<void> {
    this.uplink = uplink;
    await this.updater.start();
    // The sockets of running components that may lock: they exist again after an agent restart.
    for (const component of lockingComponents(this.updater.running())) await this.lockServer?.ensure(component);
    const os = this.deps.os;
    if (os) {
      await os.start({
        event: (kind, message, releaseId) => this.event(kind, message, null, undefined, releaseId),
        changed: () => this.scheduleReport(),
        checks: () => this.trialChecks(),
      });
      this.every(this.settings.osTickMs, () =>
        os.tick(this.updater.current.phase === 'idle' ? (this.updater.current.active?.release ?? null) : null),
      );
    }
    const self = this.deps.selfUpdate;
    if (self) {
      await self.update.start({
        event: (kind, message, releaseId) => this.event(kind, message, null, undefined, releaseId),
        restart: () => self.restart(),
      });
      this.every(this.settings.osTickMs, () =>
        self.update.tick(this.updater.current.phase === 'idle' ? (this.updater.current.active?.release ?? null) : null),
      );
    }
    void this.upkeep();
    this.every(this.settings.reportIntervalMs, () => this.tick());
    this.every(this.settings.telemetrySampleMs, () => this.sample());
    this.every(this.settings.telemetryIntervalMs, async () => this.flushTelemetry());
    this.every(this.settings.inventoryIntervalMs, () => this.refreshInventory({ onlyIfChanged: true }));
  }

  async stop(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    await this.updater.stop();
    await this.lockServer?.stop();
    await this.reporting;
  }

  heldRev(): number {
    return this.updater.heldRev();
  }

  /**
   * A `desired` message from the network: the gate verifies it; a refused one moves nothing and
   * leaves a `desired-refused` event. Resolves once it is judged (and handed on when taken).
   */
  async receive(bytes: Uint8Array | string): Promise<void> {
    const gate = this.deps.gate;
    if (!gate) {
      this.event('desired-refused', 'this agent has no desired gate configured; desired states from the network are refused', null);
      return;
    }
    let outcome: Awaited<ReturnType<DesiredGate['admit']>>;
    try {
      outcome = await gate.admit(bytes);
    } catch (err) {
      // The watermark or key file could not be written: not taken, the control plane sends it again.
      this.deps.logger.error('desired state not taken', { error: errorMessage(err) });
      this.event('desired-refused', `could not keep the desired state: ${errorMessage(err)}`, null);
      return;
    }
    if (!outcome.ok) {
      if (outcome.code === 'duplicate') {
        // A verified statement of the rev held: the answer to a refresh, its registry tokens fresh.
        if (outcome.statement) this.refreshed(Desired.parse(outcome.statement));
        return this.deps.logger.info('desired state already held; registry access refreshed from it', { rev: outcome.rev });
      }
      this.deps.logger.warn('desired state refused', { code: outcome.code, reason: outcome.reason });
      return this.eventWithRev('desired-refused', `${outcome.code}: ${outcome.reason}`, outcome.rev);
    }
    const { statement, learned } = outcome;
    for (const key of learned.added) {
      this.eventWithRev('release-key-added', `now trusts release key ${key.keyId}, endorsed by ${key.endorsement.keyId}`, statement.rev);
    }
    for (const keyId of learned.revoked) {
      this.eventWithRev('release-key-refused', `release key ${keyId} was revoked by the control plane; no longer trusted`, statement.rev);
    }
    // The updater and its journal keep the desired state proper; the envelope's fields did their work here.
    this.desire(Desired.parse(statement));
  }

  /**
   * The answer to a refresh: the held rev again (signed, for this device, fresh: the gate
   * checked), whose registry access (fresh tokens) is all that is taken from it. Anything else
   * about a rev is settled when it first arrives. A replay of an older statement of the same rev
   * could only hand back older tokens, which the agent asks past again once they run out.
   */
  private refreshed(desired: Desired): void {
    if (desired.rev !== this.heldRev()) return;
    this.registryAccess.refreshed(desired.rev, desired.registryAuth ?? []);
  }

  desire(desired: Desired): void {
    if (desired.rev <= this.heldRev()) return;
    this.deps.logger.info('desired state received', { rev: desired.rev, releaseId: desired.release?.id ?? null });
    this.updater.desire(desired);
  }

  /** Runs a command and leaves a `command` event behind, so the device's history shows who did what. */
  async command(command: Command): Promise<CommandResult> {
    const args = Object.entries(command.args)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    try {
      const result = await runCommand(command, {
        runtime: this.deps.runtime,
        logger: this.deps.logger,
        rollback: (reason) => this.updater.rollback(reason),
      });
      this.event('command', `${command.name} ${args} (${command.id}): ok`.replace(/\s+/g, ' '), null);
      return result;
    } catch (err) {
      this.event('command', `${command.name} ${args} (${command.id}): ${errorMessage(err)}`.replace(/\s+/g, ' '), null);
      throw err;
    }
  }

  /** After every (re)connect: the control plane may have missed reports and inventory while the device was away. */
  onConnected(): void {
    this.lastReport = '';
    void this.deps.outbox
      .drain(
        (event) => this.uplink?.publish('events', event),
        (dropped) => this.eventBody('outbox-overflow', `${dropped} event(s) were dropped while the control plane was unreachable`),
      )
      .catch((err: unknown) => this.deps.logger.error('could not send the outbox', { error: errorMessage(err) }));
    // Collected on the first connect, not at start: it takes a second or two of CPU on a
    // small board, and nobody can read it before the link is up.
    if (this.inventory) this.uplink?.publish('inventory', this.inventory);
    else void this.refreshInventory();
    this.scheduleReport();
  }

  /** The reported state as it would be sent now (also what the local CLI shows). */
  async reported(): Promise<Reported> {
    const running = this.updater.running();
    const containers = await this.deps.runtime.listContainers();
    const locks = (await this.locks?.list(lockingComponents(running))) ?? [];
    return {
      schema: PROTOCOL_SCHEMA,
      at: this.deps.clock.now().toISOString(),
      agentVersion: AGENT_VERSION,
      rev: this.updater.heldRev(),
      update: this.updater.status(),
      components: componentStatuses(containers, running ? targetFromDesired(running) : null),
      ...(this.deps.os ? { os: this.deps.os.status() } : {}),
      ...(locks.length > 0 ? { locks } : {}),
    };
  }

  /** What an OS trial boot must show before it is committed: this agent runs, reaches the control plane, and its assembly is healthy. */
  private async trialChecks(): Promise<TrialChecks> {
    const reported = await this.reported();
    return {
      agentUp: true,
      controlPlaneReached: this.uplink?.connected ?? false,
      assemblyHealthy:
        this.updater.current.phase === 'idle' && reported.components.every((c) => c.state === 'running' && c.health !== 'unhealthy'),
    };
  }

  /** Sends `reported` now if it changed; resolves once done. */
  async reportNow(): Promise<void> {
    this.scheduleReport();
    await this.reporting;
  }

  private scheduleReport(): void {
    this.reporting = this.reporting.then(() => this.report());
  }

  private async report(): Promise<void> {
    let body: Reported;
    try {
      body = await this.reported();
    } catch (err) {
      this.deps.logger.warn('cannot read container states for the report', { error: errorMessage(err) });
      return;
    }
    await this.writeLocalStatus(body);
    // Sent only when something other than the timestamp moved: a small board on a metered link sends little.
    this.noticeRestarts(body);
    const key = JSON.stringify({ ...body, at: undefined });
    if (key === this.lastReport) return;
    this.lastReport = key;
    this.uplink?.publish('reported', body, () => void this.deps.selfUpdate?.update.reportDelivered());
  }

  private async writeLocalStatus(body: Reported): Promise<void> {
    if (!this.deps.localStatus) return;
    const release = this.updater.running()?.release ?? null;
    try {
      await this.deps.localStatus.write({
        ...body,
        deviceId: this.deps.deviceId,
        board: this.deps.board ?? null,
        connected: this.uplink?.connected ?? false,
        assembly: release ? { name: release.assembly.name, version: release.assembly.version, releaseId: release.id } : null,
      });
    } catch (err) {
      this.deps.logger.warn('cannot write the local status file', { error: errorMessage(err) });
    }
  }

  /** A component the engine restarted by itself (its restart policy) is worth an event, once per restart. */
  private noticeRestarts(body: Reported): void {
    const seen = new Map<string, number>();
    for (const c of body.components) {
      if (!c.containerId) continue;
      const count = c.restartCount ?? 0;
      seen.set(c.containerId, count);
      const before = this.restartCounts.get(c.containerId);
      if (before !== undefined && count > before) {
        this.event('component-restarted', `component "${c.name}" restarted (${count} restart(s) in total)`, this.updater.running());
      }
    }
    this.restartCounts = seen;
  }

  private async tick(): Promise<void> {
    // Not awaited: the re-check queues behind an update in progress, and reports must not wait for it.
    const due = this.deps.clock.now().getTime() - this.lastUpkeep >= this.settings.reconcileIntervalMs;
    if (due && this.updater.current.phase === 'idle') void this.upkeep();
    this.scheduleReport();
    await this.reporting;
  }

  private async upkeep(): Promise<void> {
    this.lastUpkeep = this.deps.clock.now().getTime();
    try {
      await this.updater.upkeep();
    } catch (err) {
      this.deps.logger.error('could not converge to the active slot', { error: errorMessage(err) });
    }
    this.scheduleReport();
  }

  private event(kind: DeviceEvent['kind'], message: string, slot: Slot | null, phase?: Phase, releaseId?: string): void {
    const body: DeviceEvent = {
      ...this.eventBody(kind, message),
      ...(slot ? { rev: slot.rev } : {}),
      ...(slot?.release ? { releaseId: slot.release.id } : releaseId ? { releaseId } : {}),
      ...(phase ? { phase } : {}),
    };
    this.send(body);
  }

  private eventWithRev(kind: DeviceEvent['kind'], message: string, rev: number | undefined): void {
    this.send({ ...this.eventBody(kind, message), ...(rev !== undefined ? { rev } : {}) });
  }

  private send(body: DeviceEvent): void {
    if (this.uplink?.connected) return this.uplink.publish('events', body);
    this.deps.outbox.push(body).catch((err: unknown) => this.deps.logger.error('could not keep an event', { error: errorMessage(err) }));
  }

  /** Its id is given here, before the outbox keeps it: every copy later sent again is stored once. */
  private eventBody(kind: DeviceEvent['kind'], message: string): DeviceEvent {
    const at = this.deps.clock.now().toISOString();
    return { schema: PROTOCOL_SCHEMA, id: randomUUID(), at, kind, message: toStorableText(message, 2_000) };
  }

  private async sample(): Promise<void> {
    this.samples.push(await this.deps.sampleTelemetry());
    if (this.samples.length > MAX_BATCH) this.samples.splice(0, this.samples.length - MAX_BATCH);
  }

  private flushTelemetry(): void {
    if (this.samples.length === 0 || !this.uplink?.connected) return;
    this.uplink.publish('telemetry', { schema: PROTOCOL_SCHEMA, samples: this.samples });
    this.samples = [];
  }

  private async refreshInventory(options: { onlyIfChanged?: boolean } = {}): Promise<void> {
    try {
      const before = this.inventory;
      this.inventory = await this.deps.collectInventory();
      if (options.onlyIfChanged && before && inventoryFingerprint(before) === inventoryFingerprint(this.inventory)) return;
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
