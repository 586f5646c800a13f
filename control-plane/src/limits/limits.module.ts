import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConnectGuard } from './connect-guard';
import { DEFAULT_DEVICE_LIMITS, DEVICE_LIMITS, type DeviceLimits } from './device-limits';
import { LimitStats } from './limit-stats';
import { MqttRefusals } from './mqtt-refusals';

/** The limits' settings, counters and connection guard, for the broker, the devices and `/metrics`. */
@Global()
@Module({})
export class LimitsModule {
  static forRoot(limits: Partial<DeviceLimits> = {}): DynamicModule {
    const settings: DeviceLimits = { ...DEFAULT_DEVICE_LIMITS, ...limits };
    return {
      module: LimitsModule,
      providers: [
        { provide: DEVICE_LIMITS, useValue: settings },
        { provide: ConnectGuard, useFactory: () => new ConnectGuard(settings) },
        LimitStats,
        MqttRefusals,
      ],
      exports: [DEVICE_LIMITS, ConnectGuard, LimitStats, MqttRefusals],
    };
  }
}
