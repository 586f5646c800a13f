import { type UpdateDeferral, type UpdateProgress, type UpdateStatus, toStorableText, TEXT_LIMITS } from '@flotilla/shared/device';
import { backoffMs } from '../support/clock';
import { errorMessage, isTerminal } from '../support/errors';
import { RetryEvents } from '../support/retry-events';
import { deviceTimeZone } from '../support/time-zone';
import { NothingToRollBackError, retryNote } from './errors';
import { OrderedJournal } from './ordered-journal';
import { heldRev, slotToRun, transition, type Slot, type UpdateEvent, type UpdateState } from './machine';
import { phaseEvents } from './phase-events';
import { describeSlot, slotRef } from './slots';
import { collectOldImages } from './steps/commit-step';
import { fetchCandidate } from './steps/fetch-step';
import { probeCandidate } from './steps/probation-step';
import { convergeTo, emptySlot, keepConverged, type SwitchDeps } from './steps/switch-step';
import { verifyCandidate } from './steps/verify-step';
import { DEFAULT_UPDATER_SETTINGS, type UpdaterDeps, type UpdaterSettings } from './updater-deps';

export { DEFAULT_UPDATER_SETTINGS, type UpdaterDeps, type UpdaterSettings } from './updater-deps';
export type { UpdateEventKind } from './phase-events';

/**
 * Drives the A/B state machine (`machine.ts`) against the engine through one executor per
 * phase (`steps/`). For every phase it first writes the state to the journal, then acts; the
 * outcome of the action is the next event for the machine. A newer desired state or a
 * rollback request may change the phase or the candidate while an action runs: the action is
 * then aborted, and its outcome ignored.
 */
export class Updater {
  private readonly settings: UpdaterSettings;
  private readonly switching: SwitchDeps;
  private state!: UpdateState;
  private readonly journal: OrderedJournal;
  private driving: Promise<void> = Promise.resolve();
  private action: AbortController | undefined;
  private progress: UpdateProgress | undefined;
  private note: string | undefined;
  private deferral: UpdateDeferral | undefined;
  /** Image sizes VERIFY learnt from the registries, for FETCH's progress. */
  private sizes: ReadonlyMap<string, number> = new Map();
  private failures = 0;
  /** A retried step's failures as `update-phase` events: the first at once, then one per 10 minutes with the count. */
  private readonly retries: RetryEvents;
  private stopped = false;

  constructor(private readonly deps: UpdaterDeps) {
    this.settings = { ...DEFAULT_UPDATER_SETTINGS, ...deps.settings };
    this.journal = new OrderedJournal(deps.journal, deps.clock, deps.logger);
    this.retries = new RetryEvents(() => deps.clock.now().getTime());
    this.switching = {
      ...deps,
      locks: deps.locks,
      healthTimeoutMs: this.settings.healthTimeoutMs,
      healthPollMs: this.settings.healthPollMs,
    };
  }

  /** Reads the journal and resumes: a restart in SWITCH or PROBATION means ROLLBACK. */
  async start(): Promise<void> {
    const found = await this.deps.journal.read();
    this.state = found;
    this.deps.logger.info('update journal', {
      phase: found.phase,
      active: describeSlot(found.active),
      candidate: describeSlot(found.candidate),
    });
    this.apply({ type: 'resumed' });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.action?.abort();
    await this.settled();
  }

  /** Resolves when no phase is being driven and the journal is written. */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.driving;
      await seen;
      await this.journal.written();
    } while (seen !== this.driving);
  }

  get current(): UpdateState {
    return this.state;
  }

  heldRev(): number {
    return Math.max(0, heldRev(this.state));
  }

  /** The slot the containers should match now. */
  running(): Slot | null {
    return slotToRun(this.state);
  }

  status(): UpdateStatus {
    const s = this.state;
    const lastFailure = this.note ?? s.lastFailure;
    return {
      phase: s.phase,
      active: slotRef(s.active),
      candidate: slotRef(s.candidate),
      failedRev: s.failedRev,
      // Cut and cleaned to what the protocol accepts (an engine error can be long, or hold NUL).
      lastFailure: lastFailure === null ? null : toStorableText(lastFailure, TEXT_LIMITS.message),
      ...(s.phase === 'fetch' && this.progress ? { progress: this.progress } : {}),
      ...(s.phase === 'fetch' && this.deferral ? { deferred: this.deferral } : {}),
    };
  }

  desire(desired: Slot): void {
    const before = this.state;
    const next = this.apply({ type: 'desired', desired });
    if (next === before) return;
    // Only VERIFY and FETCH are abandoned for a newer candidate; later phases queue it.
    if (next.candidate !== before.candidate) this.action?.abort();
    this.kick();
  }

  /** Roll back now: ends a trial (or a download) as a failure. */
  rollback(reason: string): void {
    const phase = this.state.phase;
    if (phase === 'idle' || phase === 'commit' || phase === 'rollback') throw new NothingToRollBackError();
    this.apply({ type: 'step-failed', phase, reason, terminal: true });
    this.action?.abort();
    this.kick();
  }

  /**
   * While idle: converge the engine to the active slot again (a container removed by hand,
   * the device rebooted). Runs in the same queue as the phases, so it never overlaps one.
   */
  upkeep(): Promise<void> {
    const run = this.driving.then(async () => {
      if (this.state.phase !== 'idle' || this.stopped) return;
      await keepConverged(this.switching, this.state.active ?? emptySlot(), new AbortController().signal);
    });
    this.driving = run.catch(() => undefined);
    return run;
  }

  private kick(): void {
    this.driving = this.driving.then(() => this.drive());
  }

  private async drive(): Promise<void> {
    while (!this.stopped) {
      await this.journal.written();
      const state = this.state;
      if (state.phase === 'idle') return;
      const abort = new AbortController();
      this.action = abort;
      await this.deps.stepHooks?.before?.(state.phase);
      let event: UpdateEvent;
      let failure: unknown;
      try {
        await this.act(state, abort.signal);
        event = { type: 'step-succeeded', phase: state.phase };
      } catch (err) {
        failure = err;
        event = { type: 'step-failed', phase: state.phase, reason: errorMessage(err), terminal: isTerminal(err) };
        this.deps.logger.warn('update step failed', {
          phase: state.phase,
          error: errorMessage(err),
          code: (err as { code?: string }).code,
          terminal: event.terminal,
        });
      }
      // Another phase or another candidate now: this outcome is about a state that is gone.
      // (A newer desired only queued as `pending` leaves the step's outcome valid.)
      const current = this.state;
      if (current.phase !== state.phase || current.candidate !== state.candidate || abort.signal.aborted || this.stopped) continue;
      await this.deps.stepHooks?.after?.(state.phase);
      const next = this.apply(event);
      if (next === state && event.type === 'step-failed') {
        // The machine kept the phase (a transient failure, or COMMIT/ROLLBACK): the same step
        // again after a backoff, told in the reported state. A newer desired aborts the wait.
        const waitMs = backoffMs(this.failures, 1_000, 60_000);
        this.note = retryNote(state.phase, failure, this.failures++, waitMs);
        this.tellRetry(state);
        this.deps.onChange();
        await this.deps.clock.sleep(waitMs, abort.signal);
      }
    }
  }

  /**
   * The retry told in the device's history too, not only in the report's `lastFailure` (which the
   * next report replaces); as `update-phase`, a kind every control plane takes, with the phase retried.
   */
  private tellRetry(state: UpdateState): void {
    const slot = state.candidate;
    const count = this.retries.failed(`${state.phase} ${slot?.rev ?? '-'} ${slot?.release?.id ?? '-'}`);
    if (count === undefined) return;
    this.deps.onEvent('update-phase', `${state.phase} of ${describeSlot(slot)} is tried again: ${this.note}${count}`, slot, state.phase);
  }

  private async act(state: UpdateState, signal: AbortSignal): Promise<void> {
    const candidate = state.candidate!;
    switch (state.phase) {
      case 'verify':
        this.sizes = await verifyCandidate(
          {
            ...this.deps,
            reserveBytes: this.settings.diskReserveBytes,
            unknownImageBytes: this.settings.unknownImageBytes,
            onKeyEvent: (kind, message) => this.deps.onEvent(kind, message, candidate, 'verify'),
          },
          candidate,
        );
        return;
      case 'fetch':
        return this.fetch(candidate, signal);
      case 'switch':
        return convergeTo(this.switching, candidate, signal);
      case 'probation':
        return probeCandidate(
          {
            ...this.deps,
            healthGraceMs: this.settings.healthTimeoutMs,
            pollMs: this.settings.gatePollMs,
          },
          candidate,
          signal,
        );
      case 'commit':
        return collectOldImages(this.deps, candidate);
      case 'rollback':
        return convergeTo(this.switching, state.active ?? emptySlot(), signal);
      case 'idle':
        return;
    }
  }

  private async fetch(candidate: Slot, signal: AbortSignal): Promise<void> {
    let last = 0;
    const deps = { ...this.deps, locks: this.deps.locks, timeZone: this.deps.timeZone ?? deviceTimeZone() };
    await fetchCandidate(
      deps,
      candidate,
      () => this.state.active,
      this.sizes,
      {
        progress: (progress) => {
          this.progress = progress;
          const now = this.deps.clock.now().getTime();
          // Progress moves many times a second; a report a second is plenty for a dashboard.
          if (now - last >= 1_000 || progress.percent === 100) {
            last = now;
            this.deps.onChange();
          }
        },
        note: (note) => {
          this.note = note;
          if (note !== undefined) this.deps.onChange();
        },
        deferral: (deferral) => {
          this.deferral = deferral;
          this.deps.onChange();
        },
      },
      signal,
    );
  }

  /** Applies an event: the new state is journaled before anything acts on it (see `drive`). */
  private apply(event: UpdateEvent): UpdateState {
    const before = this.state;
    const next = transition(before, event);
    if (next === before) return before;
    this.state = next;
    this.journal.write(next);
    this.announce(before, next, event);
    return next;
  }

  private announce(before: UpdateState, next: UpdateState, event: UpdateEvent): void {
    if (before.phase !== next.phase || before.candidate !== next.candidate) {
      // A new step or a new candidate: the retries and notes of the last one are over.
      this.failures = 0;
      this.note = undefined;
      this.retries.reset();
    }
    if (before.phase !== next.phase) {
      if (next.phase !== 'fetch') this.progress = undefined;
      this.deps.logger.info('update phase', {
        from: before.phase,
        to: next.phase,
        slot: describeSlot(next.candidate ?? before.candidate),
        reason: next.lastFailure,
      });
      for (const e of phaseEvents(before, next, event)) this.deps.onEvent(e.kind, e.message, e.slot, e.phase);
    }
    this.deps.onChange();
  }
}
