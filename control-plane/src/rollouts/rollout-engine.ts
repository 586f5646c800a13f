import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { DeviceChannel, Release } from '@flotilla/shared';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { OutageLog, type OutageLine } from '../database/outage-log';
import { CHANGES_CHANNEL, PgNotifications } from '../database/pg-notifications';
import { REPLICA_ID } from '../database/replica-id';
import type { UnitOfWork } from '../database/unit-of-work';
import type { DesiredFanout } from '../devices/desired-publisher';
import type { DesiredState } from '../devices/device-record.repository';
import { DevicesService } from '../devices/devices.service';
import { DomainError } from '../domain-error';
import { HostPolicyService } from '../host-policy/host-policy.service';
import { applyDecision, segments, type Assignments } from './apply-action';
import { decide } from './decide';
import { FanoutStats } from './fanout-stats';
import { kickDelay, restUntil } from './pass-pacing';
import { forgetStale, redeliveryDue } from './redelivery';
import { LeaseLostError, RolloutLeaseRepository, type RolloutLease } from './rollout-lease.repository';
import { RolloutSelectionRepository } from './rollout-selection.repository';
import { RolloutRepository } from './rollout.repository';
import { CLOCK, ROLLOUT_SETTINGS, type Clock, type RolloutSettings } from './rollout-settings';
import type { RolloutAction } from './rollout-state';

/** Device messages after which a rollout may have news; the rest (telemetry, inventory) never matter to it. */
const WAKE_CHANNELS: readonly DeviceChannel[] = ['reported', 'events'];
/** Writes, by any replica, after which a rollout may have news: a device reported, an operator command. */
const WAKE_TABLES = new Set(['devices', 'rollouts']);
/** A device assigned this long ago that shows no sign of it is told again (a lost publish); then as often. */
const REDELIVER_AFTER_MS = 15_000;

/**
 * Applies `decide` to every rollout in motion: on a timer, and shortly after devices report.
 * Each rollout is decided by one replica at a time, the holder of its lease
 * (`RolloutLeaseRepository`): renewed every pass, taken over by another replica once it expires
 * (`leaseMs` after the holder stopped), and fencing every write of a decision, so a holder that
 * froze past its expiry cannot write after the takeover. All state lives in PostgreSQL; a
 * restarted control plane simply carries on from it. A decision's assignments are written in
 * fenced transactions (one statement per segment of them) and published to the devices after each commits.
 *
 * Device reports are read from the `devices` table each pass (not from the MQTT messages
 * themselves): the devices service stays the single writer of what a device reported, and a
 * pass always sees a consistent picture, whichever replica received the message.
 */
@Injectable()
export class RolloutEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Rollouts');
  /** A pass runs every 2 s: a database outage is told once a minute, not with a stack each time. */
  private readonly outage = new OutageLog('rollout pass');
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** A report asked for a pass while one ran: kicked again when it ends, after its rest. */
  private kickedDuringPass = false;
  /** No report-driven pass before this time (pass-pacing.ts). */
  private restUntil = 0;
  /** Time the pass under way spent deciding and writing (not publishing, which overlaps it). */
  private deciding = 0;
  private stopped = false;
  private unlisten: (() => void) | undefined;
  /** When this replica last told a device its desired state again (`redeliveryDue`). */
  private readonly told = new Map<string, number>();

  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly selection: RolloutSelectionRepository,
    private readonly leases: RolloutLeaseRepository,
    private readonly devices: DevicesService,
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly notifications: PgNotifications,
    @Inject(REPLICA_ID) private readonly replica: string,
    private readonly fanouts: FanoutStats,
    private readonly hostPolicy: HostPolicyService,
  ) {}

  onApplicationBootstrap(): void {
    // On the replica that handles the report; a pass on any replica can act on any rollout.
    this.broker.onUplink(async ({ channel }) => {
      if (WAKE_CHANNELS.includes(channel)) this.kick();
    });
    // A device may report to another replica than the one holding its rollout's lease.
    this.unlisten = this.notifications.listen(CHANGES_CHANNEL, (table) => (table === undefined || WAKE_TABLES.has(table)) && this.kick());
    this.timer = setInterval(() => this.kick(), this.settings.tickMs);
    this.kick();
  }

  /** Before the database closes: no new pass, and the one under way finishes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    this.unlisten?.();
    await this.running;
    await this.leases.releaseAll(this.replica).catch((e: Error) => this.logger.warn(`cannot hand over rollout leases: ${e.message}`));
  }

  /**
   * Schedules a pass soon (debounced, and not before the last pass's rest is over): after a device
   * report, a new rollout, an operator command, or the timer.
   */
  kick(): void {
    if (this.stopped || this.debounce) return;
    const delay = kickDelay(Date.now(), this.settings.reportDebounceMs, this.restUntil);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      if (this.running) this.kickedDuringPass = true;
      else void this.pass();
    }, delay);
  }

  /**
   * A rollout was created: a pass at once. The debounce gathers a burst of device reports and the
   * rest keeps report-driven passes from crowding out a fan-out; neither is a reason to hold back
   * a start (150 ms of every rollout's "received by all" before, control-plane/bench/rollout.bench.ts).
   */
  started(): void {
    void this.pass();
  }

  /** One pass over every rollout in motion; a pass requested meanwhile runs right after. Never throws. */
  pass(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      this.deciding = 0;
      try {
        do {
          this.again = false;
          await this.passOnce();
        } while (this.again && !this.stopped);
        this.log(this.outage.succeeded());
      } catch (e) {
        this.log(this.outage.failed(e));
      } finally {
        this.running = undefined;
        this.restUntil = restUntil(Date.now(), this.deciding);
        if (this.kickedDuringPass) {
          this.kickedDuringPass = false;
          this.kick();
        }
      }
    })();
    return this.running;
  }

  private log(line: OutageLine): void {
    if (line) this.logger[line.level](line.text);
  }

  private async passOnce(): Promise<void> {
    const handled: string[] = [];
    for (;;) {
      if (this.stopped) return;
      const lease = await this.leases.claimNext(this.replica, this.settings.leaseMs, handled);
      if (!lease) return;
      handled.push(lease.rolloutId);
      // Each committed segment's devices are told while the next segment is written: publishing
      // (CPU) and the next statements (the database) overlap, in one fan-out whose window the
      // segments feed as they commit, with the states their statements stored (not read back).
      let fanout: DesiredFanout | undefined;
      let redelivered = Promise.resolve();
      const started = Date.now();
      const told = { devices: 0, batches: 0, firstCommitted: 0, lastCommitted: 0 };
      try {
        await this.step(lease, {
          again: (deviceIds) => (redelivered = this.devices.publishCurrent(deviceIds)),
          committed: (states, release) => {
            // Only after the commit: a device hears of a rev that is stored, and that its rollout expects.
            void (fanout ??= this.devices.desiredFanout([release])).add(states);
            told.lastCommitted = Date.now() - started;
            if (told.batches++ === 0) told.firstCommitted = told.lastCommitted;
            told.devices += states.length;
          },
        });
      } catch (e) {
        if (!(e instanceof LeaseLostError)) throw e;
        this.logger.warn(e.message);
      } finally {
        this.deciding += Date.now() - started;
        await Promise.all([redelivered, fanout?.end()]);
        if (told.devices > 0)
          this.fanouts.record({
            startedAt: started,
            devices: told.devices,
            batches: told.batches,
            firstCommittedMs: told.firstCommitted,
            lastCommittedMs: told.lastCommitted,
            handedMs: Date.now() - started,
          });
      }
    }
  }

  /**
   * Decides one rollout's next actions, then applies them in segments (`settings.assignSegments`),
   * each in its own fenced transaction (the devices' new revs, the rollout's record of them and the
   * decision commit together), handing each segment's new desired states to `tell.committed` (the
   * devices to tell again, a lost publish, to `tell.again`).
   * Applying a decision in order, segment by segment, gives the state applying it whole gives
   * (apply-action.test.ts); a pass cut short (a crash, a lost lease) leaves a consistent prefix,
   * and the next pass decides again from it.
   */
  private async step(
    lease: RolloutLease,
    tell: { committed: (states: DesiredState[], release: Release) => void; again: (deviceIds: string[]) => void },
  ): Promise<void> {
    const id = lease.rolloutId;
    const decision = await this.leases.underLease(lease, this.settings.leaseMs, async (uow) => {
      const record = await this.rollouts.load(uow, id);
      if (!record) return undefined;
      const reports = await this.selection.loadReports(uow, id, record.selection);
      const now = this.clock.now();
      forgetStale(this.told, now, REDELIVER_AFTER_MS);
      const again = redeliveryDue(record.state, reports, this.told, now, REDELIVER_AFTER_MS);
      return { state: record.state, actions: decide(record.state, reports, now), again, now };
    });
    if (!decision) return;
    if (decision.again.length > 0) {
      for (const deviceId of decision.again) this.told.set(deviceId, decision.now);
      this.logger.warn(`rollout ${id}: ${decision.again.length} devices show no sign of their assignment; told again`);
      tell.again(decision.again);
    }
    if (decision.actions.length === 0) return;
    // Read and checked once for the whole decision, not once a segment, and handed to the fan-out as read.
    const delivery = decision.actions.some((a) => a.kind === 'assign') ? await this.delivery(decision.state.releaseId) : undefined;
    let state = decision.state;
    const { first, max } = this.settings.assignSegments;
    for (const actions of segments(decision.actions, max, first)) {
      const before = state;
      const assigned = await this.leases.underLease(lease, this.settings.leaseMs, async (uow) => {
        const { states, ...result } = await this.assign(uow, delivery, before.force, actions);
        state = applyDecision(before, actions, decision.now, result);
        await this.rollouts.save(uow, before, state);
        await this.leases.recordDecision(uow, lease, actions);
        return states;
      });
      for (const a of actions) {
        if (a.kind === 'pause' || a.kind === 'abort' || a.kind === 'wait') this.logger.log(`rollout ${id}: ${a.kind}: ${a.reason}`);
        if (a.kind === 'complete') this.logger.log(`rollout ${id}: completed`);
      }
      if (assigned.length > 0 && delivery && 'release' in delivery) tell.committed(assigned, delivery.release);
    }
  }

  /** The rollout's release as devices receive it, or why it cannot be delivered (then every assignment fails with that reason). */
  private async delivery(releaseId: string): Promise<{ release: Release } | { refused: string }> {
    try {
      return { release: await this.devices.releaseForDelivery(releaseId) };
    } catch (e) {
      if (e instanceof DomainError) return { refused: e.message };
      throw e;
    }
  }

  /**
   * Every `assign` of one segment in one statement, in the rollout's transaction: the devices'
   * new revs and the rollout's record of them commit together or not at all, so a crash never
   * leaves a device assigned behind the rollout's back. A release that cannot be delivered fails
   * them all; any other error (the database) aborts the pass, which the next one retries.
   */
  private async assign(
    uow: UnitOfWork,
    delivery: { release: Release } | { refused: string } | undefined,
    force: boolean,
    actions: readonly RolloutAction[],
  ): Promise<Assignments & { states: DesiredState[] }> {
    const selected = actions.flatMap((a) => (a.kind === 'assign' ? [a.deviceId] : []));
    if (selected.length === 0 || !delivery) return { revs: new Map(), refused: null, states: [] };
    if ('refused' in delivery) return { revs: new Map(), refused: delivery.refused, states: [] };
    // Checked at creation against the devices selected then; a device may have joined the selection
    // (a tag, a fleet) or moved fleets since, so each is checked where it is when it is assigned, in
    // this transaction and under its fleet's lock (none for a release without host powers).
    const policy = await this.hostPolicy.refusedDevices(uow, selected, delivery.release.assembly);
    const refusedDevices = new Map([...policy].map(([id, issues]) => [id, issues.map((i) => `${i.path}: ${i.message}`).join('; ')]));
    const ids = selected.filter((id) => !refusedDevices.has(id));
    const states = await this.devices.assignReleaseToMany(uow, ids, delivery.release, force);
    return {
      revs: new Map([...states].map(([id, s]) => [id, s.desiredRev])),
      refused: null,
      refusedDevices,
      states: [...states.values()],
    };
  }
}
