import { mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceEvent, Release } from '@flotilla/shared/device';
import { errorMessage, isTerminal } from '../support/errors';
import type { Logger } from '../support/logger';
import { RetryEvents } from '../support/retry-events';
import { agentUpdateFor } from './agent-target';
import {
  AGENT_FILE,
  ALTS_ENV,
  altsPaths,
  META_FILE,
  type AgentMeta,
  type AltsPaths,
  type FailureRecord,
  type TrialFailure,
  type TrialRecord,
} from './alts';
import { downloadVerified, ensureRoom } from './download';

/** What the agent lends its self-update: events, and a clean exit so the launcher can switch. */
export interface SelfUpdateHooks {
  event(kind: Extract<DeviceEvent['kind'], `agent-update-${string}`>, message: string, releaseId?: string): void;
  /** Stops the agent (containers keep running) and exits, so the launcher starts `alts/new`. */
  restart(): void;
}

/** A failed download is tried again no sooner than this. */
const RETRY_MS = 30_000;

/**
 * The agent's side of updating itself (the launcher, launcher.ts, does the switching):
 * installs the committed release's agent version into `alts/` and exits for the launcher
 * to switch; on a trial start, commits at the first `reported` the broker acknowledged;
 * after a fallback, reports why the new version failed. Off when the agent does not run
 * under the launcher (nothing would switch, nor fall back).
 */
export class SelfUpdate {
  private readonly paths: AltsPaths;
  private hooks: SelfUpdateHooks | undefined;
  private failedSha256: string | null = null;
  private onTrial = false;
  private busy = false;
  private lastAttempt = -Infinity;
  private skipNoted = false;
  /** The target whose `agent-update-started` was sent: a retried download is not a new start. */
  private startedSha256: string | null = null;
  private readonly retries: RetryEvents;

  constructor(
    dir: string,
    private readonly version: string,
    private readonly logger: Logger,
    /** The device's pinned CAs: an https:// agent URL must chain to one of them. */
    private readonly ca: readonly string[] | undefined,
    /** Free disk that must remain beside a downloaded bundle (FLOTILLA_DISK_RESERVE_BYTES). */
    private readonly reserveBytes: number,
    private readonly now: () => number = Date.now,
  ) {
    this.paths = altsPaths(dir);
    this.retries = new RetryEvents(now);
  }

  static fromEnv(
    version: string,
    logger: Logger,
    ca: readonly string[] | undefined,
    reserveBytes: number,
    env: NodeJS.ProcessEnv = process.env,
  ): SelfUpdate | undefined {
    const dir = env[ALTS_ENV];
    if (!dir) logger.info('agent self-update is off: the agent does not run under its launcher');
    return dir ? new SelfUpdate(dir, version, logger, ca, reserveBytes) : undefined;
  }

  async start(hooks: SelfUpdateHooks): Promise<void> {
    this.hooks = hooks;
    await this.dropUnnamedVersions();
    this.failedSha256 = (await this.brokenMeta())?.sha256 ?? null;
    const trial = await readJson<TrialRecord>(this.paths.trial);
    if (trial && trial.version !== this.version) return this.refuseTrial(trial);
    this.onTrial = trial !== undefined;
    const failure = await readJson<FailureRecord>(this.paths.failure);
    if (failure) {
      hooks.event('agent-update-failed', `agent ${failure.version} failed and ${this.version} runs again: ${failure.reason}`);
      await rm(this.paths.failure, { force: true });
    }
    this.logger.info('agent', { version: this.version, onTrial: this.onTrial, failedSha256: this.failedSha256 });
  }

  /**
   * The launcher put this agent on trial as the version the release names, and it is another: it
   * could only run out the trial's deadline and be taken for one that never connected. It says why
   * (`verdict.json`, which the launcher puts in `failure.json`) and exits for the launcher to fall back.
   */
  private async refuseTrial(trial: TrialRecord): Promise<void> {
    const verdict: TrialFailure = { kind: 'version-mismatch', expected: trial.version, actual: this.version };
    await writeFile(this.paths.verdict, JSON.stringify(verdict));
    this.logger.error('this agent is not the version its trial names; exiting for the launcher to fall back', {
      expected: trial.version,
      version: this.version,
    });
    this.hooks?.restart();
  }

  /** A `reported` reached the broker: a version on trial has shown it runs and connects. */
  async reportDelivered(): Promise<void> {
    if (!this.onTrial) return;
    this.onTrial = false;
    try {
      await rm(this.paths.trial);
    } catch {
      return; // The launcher's deadline came first: it is stopping this agent.
    }
    this.hooks?.event('agent-update-committed', `agent ${this.version} connected and reported; it stays`);
  }

  /** `release`: the committed assembly's release (the agent follows a release once its assembly runs). */
  async tick(release: Release | null): Promise<void> {
    const target = agentUpdateFor(release, this.version, this.failedSha256);
    if (!target && !this.skipNoted && release?.assembly.agent && release.assembly.agent.sha256 === this.failedSha256) {
      this.skipNoted = true;
      this.logger.warn('the release names an agent build that failed here; staying on this version', { version: this.version });
    }
    if (!target || this.busy || this.onTrial || this.now() - this.lastAttempt < RETRY_MS) return;
    this.busy = true;
    this.lastAttempt = this.now();
    try {
      const dir = `${target.version.replace(/[^0-9A-Za-z.+-]/g, '_')}-${target.sha256.slice(0, 12)}`;
      const full = join(this.paths.dir, dir);
      await ensureRoom(this.paths.dir, target.size, this.reserveBytes);
      await rm(full, { recursive: true, force: true });
      await mkdir(full, { recursive: true });
      if (this.startedSha256 !== target.sha256) {
        this.startedSha256 = target.sha256;
        this.hooks?.event('agent-update-started', `installing agent ${target.version} beside ${this.version}`, target.releaseId);
      }
      await downloadVerified(target, join(full, AGENT_FILE), this.ca);
      const meta: AgentMeta = { version: target.version, sha256: target.sha256 };
      await writeFile(join(full, META_FILE), JSON.stringify(meta));
      await rm(`${this.paths.next}.tmp`, { force: true });
      await symlink(dir, `${this.paths.next}.tmp`);
      await rename(`${this.paths.next}.tmp`, this.paths.next);
      this.logger.info('agent version installed; restarting into it', { version: target.version });
      this.hooks?.restart();
    } catch (err) {
      this.logger.error('agent self-update failed', { version: target.version, error: errorMessage(err) });
      const terminal = isTerminal(err);
      // A terminal failure is told once by nature; a retried one through the rate limit.
      const note = terminal ? '' : this.retries.failed(target.sha256);
      if (note !== undefined) {
        const next = terminal ? '' : `; trying again in ${RETRY_MS / 1000} s`;
        this.hooks?.event(
          'agent-update-failed',
          `agent ${target.version} not installed: ${errorMessage(err)}${next}${note}`,
          target.releaseId,
        );
      }
      if (terminal) this.failedSha256 = target.sha256;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Removes installed versions no role names any more (the one before `old`, an earlier broken
   * one, a download left half done): each update would otherwise leave a bundle on the data
   * partition for good. Only the agent runs now; the launcher changes the roles only when it exits.
   */
  private async dropUnnamedVersions(): Promise<void> {
    const { current, old, next, broken } = this.paths;
    const named = new Set<string>();
    for (const link of [current, old, next, broken]) {
      const dir = await readlink(link).catch(() => undefined);
      if (dir) named.add(dir);
    }
    const entries = await readdir(this.paths.dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory() || named.has(entry.name)) continue;
      this.logger.info('removing an agent version no longer needed', { version: entry.name });
      await rm(join(this.paths.dir, entry.name), { recursive: true, force: true });
    }
  }

  private async brokenMeta(): Promise<AgentMeta | undefined> {
    try {
      const dir = await readlink(this.paths.broken);
      return await readJson<AgentMeta>(join(this.paths.dir, dir, META_FILE));
    } catch {
      return undefined;
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
