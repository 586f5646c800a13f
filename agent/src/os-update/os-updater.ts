import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { AgentError, errorMessage } from '../support/errors';
import { HttpGetError, openGet } from '../support/http-get';
import type { BootSlotBackend, OsSlot } from './boot-slot-backend';
import {
  decide,
  IDLE_JOURNAL,
  type OsImageTarget,
  type OsUpdateAction,
  type OsUpdateInput,
  type OsUpdateJournal,
  type OsUpdatePolicy,
  type TrialChecks,
} from './os-update-plan';
import { SlotWriteError, writeSlot, type OpenImageSource } from './slot-writer';

/**
 * Carries out the OS update plan (os-update-plan.ts) on a board: the journal is written
 * before each action, so a power cut repeats an action instead of skipping one. All
 * I/O comes in through `OsUpdaterDeps`; the agent's main loop calls
 *   onStart()          once at start-up (resumes or concludes an update across the reboot),
 *   request(target)    when a release carries an OS image for this board,
 *   checkTrial()       periodically while `inTrial` (every few seconds),
 * and hands reports to its event outbox.
 */
export type OsUpdateReport = Extract<OsUpdateAction, { kind: 'report-committed' | 'report-failed' }>;

export interface OsUpdaterDeps {
  backend: BootSlotBackend;
  /** Block device (or file) of each root slot, e.g. /dev/mmcblk0p2 and p3. */
  slotDevice(slot: OsSlot): string;
  openImage(target: OsImageTarget): OpenImageSource;
  journalPath: string;
  checkpointPath: string;
  /** Runs the backend's reboot command; in production it does not return. */
  reboot(argv: readonly string[]): Promise<void>;
  /** /proc/sys/kernel/random/boot_id: tells a reboot from an agent restart. */
  bootId(): Promise<string>;
  checks(): Promise<TrialChecks>;
  /** The running root's FLOTILLA_OS_VERSION (read at agent start, so the trial's own after the reboot). */
  runningVersion: string | null;
  report(report: OsUpdateReport): Promise<void>;
  now(): number;
  policy: OsUpdatePolicy;
  onProgress?(written: number, total: number): void;
  checkpointEvery?: number;
}

export class OsUpdater {
  private journal: OsUpdateJournal = IDLE_JOURNAL;
  private retryReason: string | null = null;

  constructor(private readonly deps: OsUpdaterDeps) {}

  get phase(): OsUpdateJournal['phase'] {
    return this.journal.phase;
  }

  get inTrial(): boolean {
    return this.journal.phase === 'trial';
  }

  /** The image being written or tried, if any. */
  get target(): OsImageTarget | null {
    return this.journal.target;
  }

  /** Why the last write stopped short of the end and will be resumed (network, source cut off); null after one that did not. */
  get writeRetryReason(): string | null {
    return this.retryReason;
  }

  /** The last image that failed; a release naming it again is ignored. */
  get failedSha256(): string | null {
    return this.journal.failedSha256;
  }

  async onStart(): Promise<void> {
    const text = await readFileIfExists(this.deps.journalPath);
    this.journal = text ? { ...IDLE_JOURNAL, ...(JSON.parse(text) as Partial<OsUpdateJournal>) } : IDLE_JOURNAL;
    await this.feed({ type: 'booted', status: await this.deps.backend.status(), bootId: await this.deps.bootId(), now: this.deps.now() });
  }

  async request(target: OsImageTarget): Promise<OsUpdateAction | undefined> {
    return this.feed({ type: 'request', target, status: await this.deps.backend.status() });
  }

  async checkTrial(): Promise<void> {
    if (!this.inTrial) return;
    await this.feed({
      type: 'checks',
      checks: await this.deps.checks(),
      now: this.deps.now(),
      bootId: await this.deps.bootId(),
      bootedVersion: this.deps.runningVersion,
    });
  }

  /** Decides, records, acts, and feeds the outcome back until an action waits on the outside world. Returns a refusal, if any. */
  private async feed(input: OsUpdateInput): Promise<OsUpdateAction | undefined> {
    let next: OsUpdateInput | undefined = input;
    let refusal: OsUpdateAction | undefined;
    while (next) {
      const decision = decide(this.journal, next, this.deps.policy);
      this.journal = decision.journal;
      await writeFileAtomic(this.deps.journalPath, JSON.stringify(this.journal));
      if (decision.action.kind === 'refuse') refusal = decision.action;
      next = await this.act(decision.action);
    }
    return refusal;
  }

  private async act(action: OsUpdateAction): Promise<OsUpdateInput | undefined> {
    const { deps } = this;
    switch (action.kind) {
      case 'write-slot':
        try {
          await writeSlot({
            target: deps.slotDevice(action.slot),
            image: action.target,
            open: deps.openImage(action.target),
            checkpointPath: deps.checkpointPath,
            onProgress: deps.onProgress,
            checkpointEvery: deps.checkpointEvery,
          });
          this.retryReason = null;
          return { type: 'written' };
        } catch (e) {
          const terminal = (e instanceof SlotWriteError || e instanceof AgentError) && e.terminal;
          this.retryReason = terminal ? null : errorMessage(e);
          return { type: 'write-failed', reason: errorMessage(e), terminal };
        }
      case 'arm-trial':
        try {
          await deps.backend.armTrial(action.slot);
        } catch (e) {
          // Not retried: arming again from the same image would fail the same way, at every agent start.
          return { type: 'arm-failed', reason: (e as Error).message };
        }
        return { type: 'armed', bootId: await deps.bootId() };
      case 'reboot':
        await deps.reboot(deps.backend.rebootCommand());
        return undefined;
      case 'fall-back':
        await deps.backend.disarm();
        await deps.reboot(['reboot']);
        return undefined;
      case 'commit':
        await deps.backend.commit();
        return { type: 'committed' };
      case 'report-committed':
      case 'report-failed':
        await deps.report(action);
        return undefined;
      case 'run-checks':
      case 'refuse':
      case 'none':
        return undefined;
    }
  }
}

/**
 * The image over HTTP(S) (support/http-get.ts: node:http, https verified against the device's
 * pinned CAs only), from an offset with a Range request (resume). The response is read as the
 * slot writer asks for it, so a slow medium slows the download instead of filling memory.
 */
export function httpImageSource(target: OsImageTarget, ca: readonly string[] | undefined): OpenImageSource {
  return async (offset) => {
    const response = await openGet(target.url, {
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      maxRedirects: 5,
      ...(ca ? { ca } : {}),
    });
    const status = response.statusCode ?? 0;
    const range = response.headers['content-range'];
    const whole = offset === 0 && status === 200;
    const rest = offset > 0 && status === 206 && typeof range === 'string' && range.startsWith(`bytes ${offset}-`);
    if (!whole && !rest) {
      response.resume();
      throw new HttpGetError(
        offset === 0
          ? `GET ${target.url} answered ${status}; the release's OS image URL must serve the image`
          : `GET ${target.url} from byte ${offset} answered ${status}${range ? ` (${range})` : ''}; the server must support Range requests`,
      );
    }
    return bytesOf(response, target.url, offset);
  };
}

/** The body, with a cut-off connection told as what it is (the slot writer resumes from its checkpoint). */
async function* bytesOf(response: AsyncIterable<Buffer>, url: string, offset: number): AsyncIterable<Uint8Array> {
  let received = 0;
  try {
    for await (const chunk of response) {
      received += chunk.length;
      yield chunk;
    }
  } catch (err) {
    if (err instanceof HttpGetError) throw err;
    throw new HttpGetError(`GET ${url}: cut off after ${offset + received} bytes (${errorMessage(err)})`, { cause: err });
  }
}
