import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DEVICE_BROKER, type DeviceBroker } from '../broker/device-broker';
import { ScheduledJobs } from '../database/scheduled-jobs';
import { DeviceLinkService } from './device-link.service';

/** How often one replica among all releases the devices of dead replicas. */
const SWEEP_EVERY_MS = 10_000;

/**
 * With embedded brokers (one per replica) a SIGKILLed replica's devices would stay online for
 * ever: no disconnect is ever handled for them. One replica among the live ones marks them
 * offline once that replica's heartbeat is stale (they come back online as they reconnect
 * elsewhere). An external broker reports presence through the devices' own last wills.
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
    if (!this.broker.reportsPresence) return;
    this.jobs.every('presence-sweep', SWEEP_EVERY_MS, async () => {
      const swept = await this.link.sweepPresence();
      if (swept > 0) this.logger.log(`${swept} devices of stopped or dead replicas marked offline`);
    });
  }
}
