import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { TOPIC_ROOT } from '@flotilla/shared';
import type { Aedes } from 'aedes';
import type { EntityManager } from 'typeorm';
import { AEDES } from '../broker/mqtt-server';
import { DevicesService } from '../devices/devices.service';
import { DomainError } from '../domain-error';
import { applyDecision, type Assignments } from './apply-action';
import { decide } from './decide';
import { RolloutRepository } from './rollout.repository';
import { CLOCK, ROLLOUT_SETTINGS, type Clock, type RolloutSettings } from './rollout-settings';
import type { RolloutAction } from './rollout-state';

/** Device messages after which a rollout may have news; the rest (telemetry, inventory) never matter to it. */
const WAKE_TOPICS = [`${TOPIC_ROOT}/d/+/reported`, `${TOPIC_ROOT}/d/+/events`];

/**
 * Applies `decide` to every rollout in motion: on a timer, and shortly after devices report.
 * Each rollout is handled in its own transaction that holds its row (`FOR UPDATE SKIP LOCKED`),
 * so replicas share the work without acting twice. All state lives in PostgreSQL; a restarted
 * control plane simply carries on from it. A decision's assignments are written in that same
 * transaction (one statement for all of them) and published to the devices after it commits.
 *
 * Device reports are read from the `devices` table each pass (not from the MQTT messages
 * themselves): the devices service stays the single writer of what a device reported, and a
 * pass always sees a consistent picture, whichever replica received the message.
 */
@Injectable()
export class RolloutEngine implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Rollouts');
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly wake = (_packet: unknown, done: () => void): void => {
    done();
    this.kick();
  };

  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly devices: DevicesService,
    @Inject(AEDES) private readonly broker: Aedes,
    @Inject(ROLLOUT_SETTINGS) private readonly settings: RolloutSettings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    for (const topic of WAKE_TOPICS) this.broker.subscribe(topic, this.wake, () => undefined);
    this.timer = setInterval(() => void this.pass(), this.settings.tickMs);
    this.kick();
  }

  /** Before the database closes: no new pass, and the one under way finishes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    for (const topic of WAKE_TOPICS) this.broker.unsubscribe(topic, this.wake, () => undefined);
    await this.running;
  }

  /** Schedules a pass soon (debounced): after a device report, a new rollout or an operator command. */
  kick(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.pass();
    }, this.settings.reportDebounceMs);
  }

  /** One pass over every rollout in motion; a pass requested meanwhile runs right after. Never throws. */
  pass(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.passOnce();
        } while (this.again && !this.stopped);
      } catch (e) {
        this.logger.error(`rollout pass failed: ${(e as Error).stack ?? String(e)}`);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async passOnce(): Promise<void> {
    const handled: string[] = [];
    for (;;) {
      if (this.stopped) return;
      const stepped = await this.rollouts.transaction(async (em) => {
        const claimed = await this.rollouts.claimNextActive(em, handled);
        return claimed ? { id: claimed, assigned: await this.step(em, claimed) } : undefined;
      });
      if (!stepped) return;
      handled.push(stepped.id);
      // Only after the commit: a device hears of a rev that is stored, and that its rollout expects.
      await this.devices.publishCurrent(stepped.assigned);
    }
  }

  /** Decides and applies one rollout's next actions within `em`; returns the devices assigned, to be told once `em` commits. */
  private async step(em: EntityManager, id: string): Promise<string[]> {
    const record = await this.rollouts.load(em, id);
    if (!record) return [];
    const before = record.state;
    const reports = await this.rollouts.loadReports(em, id, record.selection);
    const now = this.clock.now();
    const actions = decide(before, reports, now);
    if (actions.length === 0) return [];
    const assigned = await this.assign(em, before.releaseId, before.force, actions);
    const after = applyDecision(before, actions, now, assigned);
    await this.rollouts.save(em, before, after);
    for (const a of actions) {
      if (a.kind === 'pause' || a.kind === 'abort' || a.kind === 'wait') this.logger.log(`rollout ${id}: ${a.kind}: ${a.reason}`);
      if (a.kind === 'complete') this.logger.log(`rollout ${id}: completed`);
    }
    return [...assigned.revs.keys()];
  }

  /**
   * Every `assign` of one decision in one statement, in the rollout's transaction: the devices'
   * new revs and the rollout's record of them commit together or not at all, so a crash never
   * leaves a device assigned behind the rollout's back. A release that cannot be delivered fails
   * them all; any other error (the database) aborts the pass, which the next one retries.
   */
  private async assign(em: EntityManager, releaseId: string, force: boolean, actions: readonly RolloutAction[]): Promise<Assignments> {
    const ids = actions.flatMap((a) => (a.kind === 'assign' ? [a.deviceId] : []));
    if (ids.length === 0) return { revs: new Map(), refused: null };
    try {
      return { revs: await this.devices.assignReleaseToMany(em, ids, releaseId, force), refused: null };
    } catch (e) {
      if (e instanceof DomainError) return { revs: new Map(), refused: e.message };
      throw e;
    }
  }
}
