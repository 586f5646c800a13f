import {
  type DeviceEvent,
  type RegistryAuth,
  type ReleaseKey,
  type UpdateDeferral,
  type UpdateProgress,
  type UpdateStatus,
  toStorableText,
  TEXT_LIMITS,
} from '@flotilla/shared';
import type { ReleaseKeySource } from '../provisioning/trusted-key-store';
import { Reconciler } from '../reconcile/reconciler';
import { targetFromDesired } from '../reconcile/target';
import type { ContainerRuntime } from '../runtime/container-runtime';
import { backoffMs, type Clock } from '../support/clock';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { GateFailedError, NothingToRollBackError, UpdateRefusedError } from './errors';
import { fetchImages } from './fetch';
import { imagesToCollect } from './gc';
import type { UpdateLocks } from './locks/update-locks';
import { awaitWindow, windowState } from './window-wait';
import { deviceTimeZone } from '../support/time-zone';
import { judgeGate } from './gate';
import type { ImageLedger } from './image-ledger';
import { heldRev, slotToRun, transition, type Phase, type Slot, type UpdateEvent, type UpdateState } from './machine';
import { preflight, type ImageFacts } from './preflight';
import type { RegistryAccess } from './registry-access';
import { describeSlot, imagesOf, imagesToFetch, slotRef } from './slots';

export interface UpdaterSettings {
  /** How long a `service_healthy` dependency (or a hand-over) may take during SWITCH. */
  healthTimeoutMs: number;
  healthPollMs: number;
  /** How often the probation gate looks at the engine. */
  gatePollMs: number;
  /** Free disk that must remain after the pulls. */
  diskReserveBytes: number;
  /** Assumed size of an image whose registry did not tell. */
  unknownImageBytes: number;
  /** For crash tests only: stop dead (never return) on reaching a phase, before or after acting on it. */
  pauseAt?: { phase: Phase; when: 'before' | 'after' };
}

export const DEFAULT_UPDATER_SETTINGS: UpdaterSettings = {
  healthTimeoutMs: 120_000,
  healthPollMs: 500,
  gatePollMs: 250,
  diskReserveBytes: 256 * 1024 * 1024,
  unknownImageBytes: 512 * 1024 * 1024,
};

export type UpdateEventKind = Extract<DeviceEvent['kind'], `update-${string}` | `release-key-${string}`>;

export interface UpdaterDeps {
  journal: { read(): Promise<UpdateState>; write(state: UpdateState): Promise<void> };
  ledger: Pick<ImageLedger, 'read' | 'add' | 'write'>;
  runtime: ContainerRuntime;
  clock: Clock;
  logger: Logger;
  /** The pinned keys, or a source that grows them with the endorsements a candidate carries (`TrustedKeyStore`). */
  releaseKeys: readonly ReleaseKey[] | ReleaseKeySource;
  /** The board spec name the device is, when known. */
  board: string | undefined;
  freeDiskBytes: (path: string) => Promise<number>;
  /** `auth`: the login for the image's registry, when the desired envelope carried one. */
  imageFacts: (ref: string, architecture: string, auth?: RegistryAuth) => Promise<Pick<ImageFacts, 'architectures' | 'sizeBytes'>>;
  controlPlaneConnected: () => boolean;
  /** Which login or token each pull and manifest read uses, refreshed as tokens expire. */
  registryAccess: RegistryAccess;
  /** The update status changed: the agent reports. */
  onChange: () => void;
  onEvent: (kind: UpdateEventKind, message: string, slot: Slot | null, phase: Phase) => void;
  /** Update locks of the running components: the switch waits while one is held. Absent: never waits. */
  locks?: UpdateLocks;
  /** The device's time zone, for maintenance windows; default: the system's. */
  timeZone?: string;
  settings?: Partial<UpdaterSettings>;
}

/**
 * Drives the A/B state machine (`machine.ts`) against the engine. For every phase it first
 * writes the state to the journal, then acts; the outcome of the action is the next event
 * for the machine. A newer desired state or a rollback request may change the phase or the
 * candidate while an action runs: the action is then aborted, and its outcome ignored.
 */
export class Updater {
  private readonly settings: UpdaterSettings;
  private state!: UpdateState;
  private persisting: Promise<void> = Promise.resolve();
  private driving: Promise<void> = Promise.resolve();
  private action: AbortController | undefined;
  private progress: UpdateProgress | undefined;
  private note: string | undefined;
  private deferral: UpdateDeferral | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly deps: UpdaterDeps) {
    this.settings = { ...DEFAULT_UPDATER_SETTINGS, ...deps.settings };
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
      await this.persisted();
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
    this.apply({ type: 'step-failed', phase, reason });
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
      const active = this.state.active ?? emptySlot();
      await this.reconciler(new AbortController().signal, active).reconcile(targetFromDesired(active));
    });
    this.driving = run.catch(() => undefined);
    return run;
  }

  private kick(): void {
    this.driving = this.driving.then(() => this.drive());
  }

  private async drive(): Promise<void> {
    while (!this.stopped) {
      await this.persisted();
      const state = this.state;
      if (state.phase === 'idle') return;
      const abort = new AbortController();
      this.action = abort;
      await this.pause(state.phase, 'before');
      let event: UpdateEvent;
      try {
        await this.act(state, abort.signal);
        event = { type: 'step-succeeded', phase: state.phase };
      } catch (err) {
        event = { type: 'step-failed', phase: state.phase, reason: errorMessage(err) };
        this.deps.logger.warn('update step failed', {
          phase: state.phase,
          error: errorMessage(err),
          code: (err as { code?: string }).code,
        });
      }
      // Another phase or another candidate now: this outcome is about a state that is gone.
      // (A newer desired only queued as `pending` leaves the step's outcome valid.)
      const current = this.state;
      if (current.phase !== state.phase || current.candidate !== state.candidate || abort.signal.aborted || this.stopped) continue;
      await this.pause(state.phase, 'after');
      const next = this.apply(event);
      if (next === state && event.type === 'step-failed') {
        // COMMIT and ROLLBACK only converge on a slot the device already ran: retry, with backoff.
        await this.deps.clock.sleep(backoffMs(this.failures++, 1_000, 60_000), abort.signal);
      }
    }
  }

  private async act(state: UpdateState, signal: AbortSignal): Promise<void> {
    switch (state.phase) {
      case 'verify':
        return this.verify(state.candidate!);
      case 'fetch':
        return this.fetch(state.candidate!, signal);
      case 'switch':
        await this.reconcileTo(state.candidate!, signal);
        return;
      case 'probation':
        return this.probation(state.candidate!, signal);
      case 'commit':
        return this.collectGarbage(state.candidate!);
      case 'rollback':
        await this.reconcileTo(state.active ?? emptySlot(), signal);
        return;
      case 'idle':
        return;
    }
  }

  private async verify(candidate: Slot): Promise<void> {
    const engine = await this.deps.runtime.engineInfo();
    const images: ImageFacts[] = await Promise.all(
      imagesOf(candidate).map(async (ref) => {
        const present = await this.deps.runtime.hasImage(ref);
        const auth = this.deps.registryAccess.forRead(ref, candidate);
        return { ref, present, ...(present ? {} : await this.deps.imageFacts(ref, engine.architecture, auth)) };
      }),
    );
    this.sizes = new Map(images.filter((i) => i.sizeBytes !== undefined).map((i) => [i.ref, i.sizeBytes!]));
    const result = preflight({
      release: candidate.release,
      trustedKeys: await this.trustedKeys(candidate),
      board: this.deps.board,
      architecture: engine.architecture,
      images,
      freeDiskBytes: await this.deps.freeDiskBytes(engine.dataRoot),
      reserveBytes: this.settings.diskReserveBytes,
      unknownImageBytes: this.settings.unknownImageBytes,
    });
    if (!result.ok) throw new UpdateRefusedError(result.reason);
  }

  /** The keys VERIFY checks `candidate` against: learning rotated keys from its endorsements first, with an event for each. */
  private async trustedKeys(candidate: Slot): Promise<readonly ReleaseKey[]> {
    const source = this.deps.releaseKeys;
    if (!('learn' in source)) return source;
    const learning = await source.learn(candidate.keyEndorsements ?? []);
    for (const key of learning.added) {
      this.deps.logger.info('release key trusted', { keyId: key.keyId, endorsedBy: key.endorsement.keyId });
      this.deps.onEvent(
        'release-key-added',
        `now trusts release key ${key.keyId}, endorsed by ${key.endorsement.keyId}`,
        candidate,
        'verify',
      );
    }
    for (const refusal of learning.refused) {
      this.deps.logger.warn('release key refused', { keyId: refusal.keyId, reason: refusal.reason });
      this.deps.onEvent('release-key-refused', refusal.reason, candidate, 'verify');
    }
    return learning.trusted;
  }

  private sizes = new Map<string, number>();

  private async fetch(candidate: Slot, signal: AbortSignal): Promise<void> {
    const images = imagesToFetch(candidate);
    await this.deps.ledger.add(imagesOf(candidate));
    let last = 0;
    await fetchImages(images, {
      runtime: this.deps.runtime,
      clock: this.deps.clock,
      signal,
      knownSizes: this.sizes,
      authFor: (ref) => this.deps.registryAccess.forPull(ref, candidate),
      onProgress: (progress) => {
        this.progress = progress;
        const now = this.deps.clock.now().getTime();
        // Progress moves many times a second; a report a second is plenty for a dashboard.
        if (now - last >= 1_000 || progress.percent === 100) {
          last = now;
          this.deps.onChange();
        }
      },
      onRetry: (message) => {
        this.note = `fetch retrying: ${message}`;
        this.deps.onChange();
      },
    });
    this.note = undefined;
    // Downloaded: the switch waits for a maintenance window, and while a running component holds
    // an update lock (still FETCH, so a restart meanwhile re-verifies instead of rolling back).
    // A lock may outlast the window: then wait for the next one.
    const onDeferral = (deferral: UpdateDeferral | undefined): void => {
      this.deferral = deferral;
      this.deps.onChange();
    };
    const timeZone = this.deps.timeZone ?? deviceTimeZone();
    const windowed = { clock: this.deps.clock, logger: this.deps.logger, timeZone };
    do {
      await awaitWindow(windowed, candidate, signal, onDeferral);
      await this.deps.locks?.awaitClearance(candidate, this.state.active, signal, onDeferral);
    } while (!signal.aborted && windowState(candidate, timeZone, this.deps.clock.now().getTime())?.open === false);
  }

  private async reconcileTo(slot: Slot, signal: AbortSignal): Promise<void> {
    await this.deps.ledger.add(imagesOf(slot));
    await this.reconciler(signal, slot).reconcile(targetFromDesired(slot));
  }

  /** Pulls it makes (switch-then-download components, images removed by hand) use the slot's registry logins. */
  private reconciler(signal: AbortSignal, slot: Slot): Reconciler {
    const locks = this.deps.locks;
    return new Reconciler({
      authFor: (ref) => this.deps.registryAccess.forPull(ref, slot),
      lockDirOf: locks && ((component) => locks.prepare(component)),
      runtime: this.deps.runtime,
      clock: this.deps.clock,
      logger: this.deps.logger,
      healthTimeoutMs: this.settings.healthTimeoutMs,
      healthPollMs: this.settings.healthPollMs,
      signal,
    });
  }

  private async probation(candidate: Slot, signal: AbortSignal): Promise<void> {
    const target = targetFromDesired(candidate);
    const windowMs = candidate.release?.assembly.probationMs ?? 0;
    const requireControlPlane = candidate.release !== null && candidate.release.assembly.requireControlPlane !== false;
    const started = this.deps.clock.now().getTime();
    const baseline = new Map(
      (await this.deps.runtime.listContainers()).map((c) => [c.id, { restartCount: c.restartCount, startedAt: c.startedAt }]),
    );
    for (;;) {
      const containers = await this.deps.runtime.listContainers();
      const verdict = judgeGate({
        target,
        containers,
        baseline,
        elapsedMs: this.deps.clock.now().getTime() - started,
        windowMs,
        healthGraceMs: this.settings.healthTimeoutMs,
        requireControlPlane,
        controlPlaneConnected: this.deps.controlPlaneConnected(),
      });
      if (verdict.verdict === 'pass') return;
      if (verdict.verdict === 'fail') throw new GateFailedError(verdict.reason);
      await this.deps.clock.sleep(this.settings.gatePollMs, signal);
      if (signal.aborted) return;
    }
  }

  /** COMMIT: the images only the old slot (or a rolled-back candidate) used go; the new active slot's stay. */
  private async collectGarbage(candidate: Slot): Promise<void> {
    const keep = imagesOf(candidate);
    const remaining = [...keep];
    for (const image of imagesToCollect(await this.deps.ledger.read(), keep)) {
      const outcome = await this.deps.runtime.removeImage(image);
      if (outcome === 'in-use') remaining.push(image);
      this.deps.logger.info('image collected', { image, outcome });
    }
    await this.deps.ledger.write(remaining);
  }

  /** Applies an event: the new state is journaled before anything acts on it (see `drive`). */
  private apply(event: UpdateEvent): UpdateState {
    const before = this.state;
    const next = transition(before, event);
    if (next === before) return before;
    this.state = next;
    const write = this.persisting.then(() => this.writeJournal(next));
    this.persisting = write;
    this.announce(before, next, event);
    return next;
  }

  private async writeJournal(state: UpdateState): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.journal.write(state);
      } catch (err) {
        // Acting on a state the journal does not hold would break crash safety: wait instead.
        this.deps.logger.error('cannot write the update journal', { error: errorMessage(err) });
        await this.deps.clock.sleep(backoffMs(attempt, 1_000, 30_000));
      }
    }
  }

  private async persisted(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.persisting;
      await seen;
    } while (seen !== this.persisting);
  }

  private announce(before: UpdateState, next: UpdateState, event: UpdateEvent): void {
    if (before.phase !== next.phase) {
      this.failures = 0;
      this.note = undefined;
      if (next.phase !== 'fetch') this.progress = undefined;
      const slot = next.candidate ?? before.candidate;
      const why = event.type === 'step-failed' ? `: ${event.reason}` : event.type === 'resumed' ? ' after a restart' : '';
      this.deps.logger.info('update phase', { from: before.phase, to: next.phase, slot: describeSlot(slot), reason: next.lastFailure });
      this.deps.onEvent('update-phase', `${before.phase} → ${next.phase} for ${describeSlot(slot)}${why}`, slot, next.phase);
      if (event.type === 'step-failed' && before.phase === 'verify') {
        this.deps.onEvent('update-refused', event.reason, before.candidate, 'verify');
      } else if (event.type === 'step-failed' && before.phase === 'fetch') {
        this.deps.onEvent('update-refused', `could not fetch the images: ${event.reason}`, before.candidate, 'fetch');
      }
      if (before.phase === 'commit' && event.type === 'step-succeeded') {
        this.deps.onEvent('update-committed', `committed ${describeSlot(next.active)}`, next.active, 'commit');
      }
      if (before.phase === 'rollback' && event.type === 'step-succeeded') {
        this.deps.onEvent(
          'update-rolled-back',
          `back on ${describeSlot(next.active)}; ${describeSlot(before.candidate)} failed: ${next.lastFailure ?? 'unknown'}`,
          before.candidate,
          'rollback',
        );
      }
    }
    this.deps.onChange();
  }

  private async pause(phase: Phase, when: 'before' | 'after'): Promise<void> {
    const at = this.settings.pauseAt;
    if (!at || at.phase !== phase || at.when !== when) return;
    this.deps.logger.warn('test pause', { phase, when });
    await new Promise<never>(() => undefined);
  }
}

/** Running nothing: the slot before the first commit. */
function emptySlot(): Slot {
  return { schema: 1, rev: 0, release: null, config: {} };
}
