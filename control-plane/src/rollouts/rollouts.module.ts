import { DynamicModule, Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module';
import { ReleasesModule } from '../releases/releases.module';
import { FanoutStats } from './fanout-stats';
import { RolloutEngine } from './rollout-engine';
import { RolloutLeaseRepository } from './rollout-lease.repository';
import { RolloutPlanService } from './rollout-plan.service';
import { RolloutSelectionRepository } from './rollout-selection.repository';
import { RolloutViewRepository } from './rollout-views.repository';
import { RolloutRepository } from './rollout.repository';
import { CLOCK, DEFAULT_ROLLOUT_SETTINGS, ROLLOUT_SETTINGS, SYSTEM_CLOCK, type Clock, type RolloutSettings } from './rollout-settings';
import { RolloutsController } from './rollouts.controller';
import { RolloutsService } from './rollouts.service';

/** Needs the `DEVICE_BROKER` port from the (global) broker transport, to wake up when devices report. */
@Module({})
export class RolloutsModule {
  /** `clock`: the engine's time (rollout timing, maintenance windows in the plan); tests may simulate it. */
  static forRoot(settings: Partial<RolloutSettings> = {}, clock: Clock = SYSTEM_CLOCK): DynamicModule {
    return {
      module: RolloutsModule,
      imports: [DevicesModule, ReleasesModule],
      controllers: [RolloutsController],
      providers: [
        { provide: ROLLOUT_SETTINGS, useValue: { ...DEFAULT_ROLLOUT_SETTINGS, ...settings } },
        { provide: CLOCK, useValue: clock },
        RolloutRepository,
        RolloutViewRepository,
        RolloutSelectionRepository,
        RolloutLeaseRepository,
        RolloutEngine,
        RolloutsService,
        RolloutPlanService,
        FanoutStats,
      ],
      exports: [RolloutViewRepository, FanoutStats],
    };
  }
}
