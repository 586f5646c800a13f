import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { ScheduledJobs } from '../database/scheduled-jobs';
import { DeviceLinkService } from './device-link.service';

/** How often one replica among all releases the devices of dead replicas. */
const SWEEP_EVERY_MS = 10_000;
/** How often one replica among all sets presence to an external broker's connection list (a request listing every connection). */
const RECONCILE_EVERY_MS = 30_000;

/**
 * With embedded brokers (one per replica) a SIGKILLed replica's devices would stay online for
 * ever: no disconnect is ever handled for them. One replica among the live ones marks them
 * offline once that replica's heartbeat is stale (they come back online as they reconnect
 * elsewhere). With an external broker, presence comes from the devices' `status` messages and
 * last wills, but a broker node that dies sends no will for its connections, and a will can
 * arrive after the device's reconnect elsewhere: one replica among all sets the presence of
 * quiet devices to the broker's own list of connections.
 */
@Injectable()
export class PresenceSweep implements OnApplicationBootstrap {
  private readonly logger = new Logger('Presence');

  constructor(
    @Inject(DEVICE_BROKER) private readonly broker: DeviceBroker,
    private readonly link: DeviceLinkService,
    private readonly jobs: ScheduledJobs,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.broker.reportsPresence) {
      this.jobs.every('presence-reconcile', RECONCILE_EVERY_MS, async () => {
        const changed = await this.link.reconcilePresence();
        if (changed && changed.offline + changed.online > 0)
          this.logger.log(`presence set to the broker's connections: ${changed.offline} devices offline, ${changed.online} online`);
      });
      return;
    }
    this.jobs.every('presence-sweep', SWEEP_EVERY_MS, async () => {
      const swept = await this.link.sweepPresence();
      if (swept > 0) this.logger.log(`${swept} devices of stopped or dead replicas marked offline`);
    });
  }
}
