import { PROTOCOL_SCHEMA, type LocalStatus, type Reported } from '@flotilla/shared/device';
import type { Uplink } from '../agent-deps';
import type { OsUpdates } from '../os-update/os-updates';
import { targetFromDesired } from '../reconcile/target';
import type { ContainerRuntime } from '../runtime/container-runtime';
import type { Clock } from '../support/clock';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { type UpdateLocks, lockingComponents } from '../update/locks/update-locks';
import type { Updater } from '../update/updater';
import { AGENT_VERSION } from '../version';
import { componentStatuses } from './component-status';
import { reportKey, restartsSince } from './report-changes';

export interface ReporterDeps {
  updater: Pick<Updater, 'running' | 'heldRev' | 'status'>;
  runtime: Pick<ContainerRuntime, 'listContainers'>;
  locks: Pick<UpdateLocks, 'list'> | undefined;
  os: Pick<OsUpdates, 'status'> | undefined;
  clock: Clock;
  logger: Logger;
  deviceId: string;
  board: string | null;
  /** Status for apps on the board (`LocalStatusFile`); written at every report tick. */
  localStatus: { write(status: LocalStatus): Promise<void> } | undefined;
  /** The link of the moment; absent before the agent starts. */
  uplink: () => Uplink | undefined;
  /** The control plane acknowledged a `reported` (an agent self-update waits for one). */
  delivered: () => void;
  /** A component the engine restarted by itself (its restart policy) is worth an event, once per restart. */
  restarted: (message: string) => void;
}

/** The device's `reported` state: built from the updater and the engine, sent when it changed, one report at a time. */
export class Reporter {
  private lastReport = '';
  private reporting: Promise<void> = Promise.resolve();
  private restartCounts = new Map<string, number>();

  constructor(private readonly deps: ReporterDeps) {}

  /** The reported state as it would be sent now (also what the local CLI shows). */
  async reported(): Promise<Reported> {
    const running = this.deps.updater.running();
    const containers = await this.deps.runtime.listContainers();
    const locks = (await this.deps.locks?.list(lockingComponents(running))) ?? [];
    return {
      schema: PROTOCOL_SCHEMA,
      at: this.deps.clock.now().toISOString(),
      agentVersion: AGENT_VERSION,
      rev: this.deps.updater.heldRev(),
      update: this.deps.updater.status(),
      components: componentStatuses(containers, running ? targetFromDesired(running) : null),
      ...(this.deps.os ? { os: this.deps.os.status() } : {}),
      ...(locks.length > 0 ? { locks } : {}),
    };
  }

  /** Queues a report behind the one in progress. */
  schedule(): void {
    this.reporting = this.reporting.then(() => this.report());
  }

  /** Resolves once every report queued so far is done. */
  async settled(): Promise<void> {
    await this.reporting;
  }

  /** The next report is sent even if unchanged: the control plane may have missed some while the device was away. */
  forgetLast(): void {
    this.lastReport = '';
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
    this.noticeRestarts(body);
    const key = reportKey(body);
    if (key === this.lastReport) return;
    this.lastReport = key;
    this.deps.uplink()?.publish('reported', body, () => this.deps.delivered());
  }

  private async writeLocalStatus(body: Reported): Promise<void> {
    if (!this.deps.localStatus) return;
    const release = this.deps.updater.running()?.release ?? null;
    try {
      await this.deps.localStatus.write({
        ...body,
        deviceId: this.deps.deviceId,
        board: this.deps.board,
        connected: this.deps.uplink()?.connected ?? false,
        assembly: release ? { name: release.assembly.name, version: release.assembly.version, releaseId: release.id } : null,
      });
    } catch (err) {
      this.deps.logger.warn('cannot write the local status file', { error: errorMessage(err) });
    }
  }

  private noticeRestarts(body: Reported): void {
    const { counts, restarted } = restartsSince(this.restartCounts, body.components);
    for (const { name, count } of restarted) this.deps.restarted(`component "${name}" restarted (${count} restart(s) in total)`);
    this.restartCounts = counts;
  }
}
