import { PROTOCOL_SCHEMA, type Command, type CommandResult, Desired, type Inventory, type Reported } from '@flotilla/shared/device';
import type { DesiredGate } from './admission/desired-gate';
import { DEFAULT_SETTINGS, type AgentDeps, type AgentSettings, type Uplink } from './agent-deps';
import { inventoryFingerprint } from './hardware/inventory-change';
import { TelemetryBatch } from './hardware/telemetry-batch';
import { DeviceCommands } from './link/device-commands';
import type { TrialChecks } from './os-update/os-update-plan';
import { DeviceEvents } from './reporting/device-events';
import { Reporter } from './reporting/reporter';
import { AgentError, errorMessage } from './support/errors';
import { LockServer } from './update/locks/lock-server';
import { UpdateLocks, lockingComponents } from './update/locks/update-locks';
import { RegistryAccess } from './update/registry-access';
import { Updater } from './update/updater';

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
  private readonly events: DeviceEvents;
  private readonly commands: DeviceCommands;
  private readonly reporter: Reporter;
  private uplink: Uplink | undefined;
  private inventory: Inventory | undefined;
  private readonly telemetry = new TelemetryBatch();
  private lastUpkeep = 0;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: AgentDeps) {
    this.settings = { ...DEFAULT_SETTINGS, ...deps.settings };
    this.events = new DeviceEvents({ clock: deps.clock, logger: deps.logger, outbox: deps.outbox });
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
        onEvent: (kind, message) => this.events.about(kind, message, this.updater.current.candidate, 'fetch'),
      });
    }
    this.updater = new Updater({
      ...deps,
      registryAccess: this.registryAccess,
      ...(this.locks ? { locks: this.locks } : {}),
      controlPlaneConnected: () => this.uplink?.connected ?? false,
      onChange: () => this.scheduleReport(),
      onEvent: (kind, message, slot, phase) => this.events.about(kind, message, slot, phase),
    });
    this.commands = new DeviceCommands({
      ...deps,
      gate: deps.commandGate,
      events: this.events,
      rollback: (reason) => this.updater.rollback(reason),
      onTrial: () => this.updater.current.candidate?.rev ?? null,
    });
    this.reporter = new Reporter({
      updater: this.updater,
      runtime: deps.runtime,
      locks: this.locks,
      os: deps.os,
      clock: deps.clock,
      logger: deps.logger,
      deviceId: deps.deviceId,
      board: deps.board ?? null,
      localStatus: deps.localStatus,
      uplink: () => this.uplink,
      delivered: () => void deps.selfUpdate?.update.reportDelivered(),
      restarted: (message) => this.events.about('component-restarted', message, this.updater.running()),
    });
  }

  /** Resumes from the journal and converges without waiting for the network. */
  async start(uplink: Uplink): Promise<void> {
    this.uplink = uplink;
    this.events.sendThrough(uplink);
    await this.updater.start();
    // The sockets of running components that may lock: they exist again after an agent restart.
    for (const component of lockingComponents(this.updater.running())) await this.lockServer?.ensure(component);
    const os = this.deps.os;
    if (os) {
      await os.start({
        event: (kind, message, releaseId) => this.events.about(kind, message, null, undefined, releaseId),
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
        event: (kind, message, releaseId) => this.events.about(kind, message, null, undefined, releaseId),
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
    await this.reporter.settled();
    // The acknowledgments so far, written: otherwise those events are sent again after the restart (harmless, but traffic).
    await this.deps.outbox.settled();
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
      this.events.about('desired-refused', 'this agent has no desired gate configured; desired states from the network are refused', null);
      return;
    }
    let outcome: Awaited<ReturnType<DesiredGate['admit']>>;
    try {
      outcome = await gate.admit(bytes);
    } catch (err) {
      // A damaged watermark or key file (terminal: until repaired, as it says), or a failed write (sent again).
      const why =
        err instanceof AgentError && err.terminal
          ? `${err.code}: ${err.message}`
          : `could not keep the desired state: ${errorMessage(err)}`;
      this.deps.logger.error('desired state not taken', { error: why });
      this.events.about('desired-refused', why, null);
      return;
    }
    if (!outcome.ok) {
      if (outcome.code === 'duplicate') {
        // A verified statement of the rev held: the answer to a refresh, its registry tokens fresh.
        if (outcome.statement) this.refreshed(Desired.parse(outcome.statement));
        return this.deps.logger.info('desired state already held; registry access refreshed from it', { rev: outcome.rev });
      }
      this.deps.logger.warn('desired state refused', { code: outcome.code, reason: outcome.reason });
      return this.events.withRev('desired-refused', `${outcome.code}: ${outcome.reason}`, outcome.rev);
    }
    const { statement, learned } = outcome;
    for (const key of learned.added) {
      this.events.withRev('release-key-added', `now trusts release key ${key.keyId}, endorsed by ${key.endorsement.keyId}`, statement.rev);
    }
    for (const keyId of learned.revoked) {
      this.events.withRev('release-key-refused', `release key ${keyId} was revoked by the control plane; no longer trusted`, statement.rev);
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

  /** Runs a command from the technician's local CLI, and leaves a `command` event behind. */
  command(command: Command): Promise<CommandResult> {
    return this.commands.run(command);
  }

  /** A `cmd` message from the network: run once the command gate admitted it; its answer for `cmd/res`, if any. */
  receiveCommand(bytes: Uint8Array | string): Promise<CommandResult | undefined> {
    return this.commands.receive(bytes);
  }

  /** After every (re)connect: the control plane may have missed reports and inventory while the device was away. */
  onConnected(): void {
    this.reporter.forgetLast();
    // What the client did not resend itself: events kept while offline, and after a restart all not acknowledged.
    this.deps.outbox.pump();
    // Collected on the first connect, not at start: it takes a second or two of CPU on a
    // small board, and nobody can read it before the link is up.
    if (this.inventory) this.uplink?.publish('inventory', this.inventory);
    else void this.refreshInventory();
    this.scheduleReport();
  }

  /** The reported state as it would be sent now (also what the local CLI shows). */
  async reported(): Promise<Reported> {
    return this.reporter.reported();
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
    await this.reporter.settled();
  }

  private scheduleReport(): void {
    this.reporter.schedule();
  }

  private async tick(): Promise<void> {
    // Not awaited: the re-check queues behind an update in progress, and reports must not wait for it.
    const due = this.deps.clock.now().getTime() - this.lastUpkeep >= this.settings.reconcileIntervalMs;
    if (due && this.updater.current.phase === 'idle') void this.upkeep();
    this.scheduleReport();
    await this.reporter.settled();
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

  private async sample(): Promise<void> {
    this.telemetry.add(await this.deps.sampleTelemetry());
  }

  private flushTelemetry(): void {
    if (!this.uplink?.connected) return;
    const samples = this.telemetry.take();
    if (samples) this.uplink.publish('telemetry', { schema: PROTOCOL_SCHEMA, samples });
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
