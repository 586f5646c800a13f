import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BoardSpec, DeviceEvent, OsStatus, Release } from '@flotilla/shared/device';
import { TEXT_LIMITS, toStorableText } from '@flotilla/shared/device';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { RetryEvents } from '../support/retry-events';
import { backendForBoard, slotPartitionNumber } from './backend-for-board';
import { otherSlot, type BootSlotBackend, type BootStatus, type OsSlot } from './boot-slot-backend';
import { readBoardSpecFile, readOsVersion, runningRootPartition } from './os-identity';
import { osImageFor, partitionDevice } from './os-target';
import type { TrialChecks } from './os-update-plan';
import { httpImageSource, OsUpdater, type OsUpdateReport } from './os-updater';
import type { OpenImageSource } from './slot-writer';

/** What the agent lends the OS track: its event stream, its report trigger, and the trial checks only it can answer. */
export interface OsHooks {
  event(kind: Extract<DeviceEvent['kind'], `os-update-${string}`>, message: string, releaseId?: string): void;
  changed(): void;
  checks(): Promise<TrialChecks>;
}

export interface OsUpdatesOptions {
  spec: BoardSpec;
  /** FLOTILLA_OS_VERSION of the running root. */
  version: string | null;
  backend: BootSlotBackend;
  slotDevice(slot: OsSlot): string;
  stateDir: string;
  logger: Logger;
  trialTimeoutMs: number;
  reboot(argv: readonly string[]): Promise<void>;
  bootId(): Promise<string>;
  now(): number;
  /** The device's pinned CAs: an https:// image URL must chain to one of them. */
  ca: readonly string[] | undefined;
  openImage?(target: { url: string }): OpenImageSource;
}

/** A failed write is tried again no sooner than this (a flaky link must not hammer the image server). */
const WRITE_RETRY_MS = 30_000;

/**
 * The agent's OS track: turns the committed release's OS image for this board into an
 * OS A/B update (OsUpdater), runs the trial checks after the reboot, and says in the
 * reported state and in events what happened. The agent calls `tick(release)` every few
 * seconds; one tick at a time.
 */
export class OsUpdates {
  private updater: OsUpdater | undefined;
  private hooks: OsHooks | undefined;
  private boot: BootStatus | undefined;
  private lastFailure: string | null = null;
  /** Why the write of the current image waits for its next attempt (shown as `lastFailure` meanwhile). */
  private waiting: string | null = null;
  private progress: OsStatus['progress'];
  private busy = false;
  private lastAttempt = -Infinity;
  private readonly retries: RetryEvents;

  constructor(private readonly options: OsUpdatesOptions) {
    this.retries = new RetryEvents(options.now);
  }

  /** Set up from what the running OS says about itself; undefined on an OS Flotilla did not build (no board.json). */
  static async forRunningOs(options: {
    root: string;
    bootMount: string;
    stateDir: string;
    logger: Logger;
    trialTimeoutMs: number;
    ca: readonly string[] | undefined;
  }): Promise<OsUpdates | undefined> {
    const spec = await readBoardSpecFile(options.root);
    if (!spec) return undefined;
    const { disk } = await runningRootPartition(options.root);
    const backend = backendForBoard(spec, {
      bootMount: join(options.root, options.bootMount),
      deviceTreeRoot: join(options.root, 'proc/device-tree'),
      partitionDevice: (n) => partitionDevice(disk, n),
    });
    return new OsUpdates({
      spec,
      version: await readOsVersion(options.root),
      backend,
      slotDevice: (slot) => partitionDevice(disk, slotPartitionNumber(spec, slot)),
      stateDir: options.stateDir,
      logger: options.logger,
      trialTimeoutMs: options.trialTimeoutMs,
      reboot: async (argv) => {
        options.logger.info('rebooting for the OS update', { command: argv.join(' ') });
        await promisify(execFile)(argv[0], argv.slice(1));
      },
      bootId: async () => (await readFile(join(options.root, 'proc/sys/kernel/random/boot_id'), 'utf8')).trim(),
      now: () => Date.now(),
      ca: options.ca,
    });
  }

  get board(): string {
    return this.options.spec.name;
  }

  /** Concludes an update the last boot began (commit or failure), before anything else runs. */
  async start(hooks: OsHooks): Promise<void> {
    this.hooks = hooks;
    const o = this.options;
    this.updater = new OsUpdater({
      backend: o.backend,
      slotDevice: o.slotDevice,
      openImage: (target) => (o.openImage ? o.openImage(target) : httpImageSource(target, o.ca)),
      journalPath: join(o.stateDir, 'os-update.json'),
      checkpointPath: join(o.stateDir, 'os-update.checkpoint.json'),
      reboot: o.reboot,
      bootId: o.bootId,
      checks: () => hooks.checks(),
      runningVersion: o.version,
      report: (report) => this.onReport(report),
      now: o.now,
      policy: { trialTimeoutMs: o.trialTimeoutMs },
      onProgress: (done, total) => this.onProgress(done, total),
    });
    this.boot = await o.backend.status();
    await this.updater.onStart();
    this.boot = await o.backend.status();
    o.logger.info('OS', {
      board: o.spec.name,
      version: o.version,
      slot: this.boot.booted,
      inTrial: this.boot.inTrial,
      phase: this.updater.phase,
    });
  }

  status(): OsStatus {
    const failure = this.waiting ?? this.lastFailure;
    return {
      version: this.options.version,
      slot: this.boot?.booted ?? null,
      inTrial: this.boot?.inTrial ?? false,
      phase: this.updater?.phase ?? 'idle',
      target: this.updater?.target?.version ?? null,
      lastFailure: failure === null ? null : toStorableText(failure, TEXT_LIMITS.message),
      ...(this.progress ? { progress: this.progress } : {}),
    };
  }

  /** `release`: the committed assembly's release (the OS follows a release only once its assembly runs). */
  async tick(release: Release | null): Promise<void> {
    const updater = this.updater;
    if (!updater || this.busy) return;
    this.busy = true;
    try {
      if (updater.inTrial) return await updater.checkTrial();
      const target = osImageFor(release, this.options.spec.name, this.options.version);
      if (!target || target.sha256 === updater.failedSha256) return;
      if (updater.phase !== 'idle' && updater.phase !== 'write') return;
      const now = this.options.now();
      if (updater.phase === 'write' && now - this.lastAttempt < WRITE_RETRY_MS) return;
      this.lastAttempt = now;
      if (updater.phase === 'idle') {
        const slot = otherSlot(this.boot?.booted ?? 'A');
        this.hooks!.event('os-update-started', `writing OS ${target.version} (${target.size} bytes) into slot ${slot}`, target.releaseId);
      }
      const refusal = await updater.request(target);
      if (refusal?.kind === 'refuse') this.options.logger.warn('OS update refused', { reason: refusal.reason });
      const retry = updater.writeRetryReason;
      this.waiting = retry && `writing OS ${target.version}: ${retry}; trying again in ${WRITE_RETRY_MS / 1000} s`;
      if (this.waiting) {
        this.options.logger.warn('OS image write stopped; will resume', { reason: retry });
        const note = this.retries.failed(target.sha256);
        if (note !== undefined) this.hooks!.event('os-update-failed', `${this.waiting}${note}`, target.releaseId);
      } else this.retries.reset();
    } catch (err) {
      this.options.logger.error('OS update step failed', { error: errorMessage(err) });
    } finally {
      this.progress = undefined;
      this.busy = false;
      this.hooks?.changed();
    }
  }

  private async onReport(report: OsUpdateReport): Promise<void> {
    this.boot = await this.options.backend.status();
    if (report.kind === 'report-committed') {
      this.lastFailure = null;
      this.hooks!.event('os-update-committed', `OS ${report.version} committed on slot ${report.slot}`);
    } else {
      this.lastFailure = report.reason;
      this.hooks!.event('os-update-failed', `OS update to ${report.version} failed: ${report.reason}`);
    }
    this.hooks!.changed();
  }

  private lastPercent = -1;
  private onProgress(done: number, total: number): void {
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    this.progress = { bytesDone: done, bytesTotal: total, percent };
    if (percent === this.lastPercent) return;
    this.lastPercent = percent;
    this.hooks?.changed();
  }
}
