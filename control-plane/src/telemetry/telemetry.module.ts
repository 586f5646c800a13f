import { DynamicModule, Module } from '@nestjs/common';
import { TelemetryController } from './telemetry.controller';
import { TelemetryIngest } from './telemetry-ingest';
import { TelemetryRetention } from './telemetry-retention';
import { DEFAULT_TELEMETRY_SETTINGS, TELEMETRY_SETTINGS, type TelemetrySettings } from './telemetry-settings';
import { TelemetryRepository } from './telemetry.repository';
import { TelemetryService } from './telemetry.service';

/**
 * Telemetry storage and queries. Global so that the uplink handler can inject `TelemetryIngest`
 * without importing this module (which would make a cycle through the devices module).
 */
@Module({})
export class TelemetryModule {
  static forRoot(settings: Partial<TelemetrySettings> = {}): DynamicModule {
    return {
      module: TelemetryModule,
      global: true,
      controllers: [TelemetryController],
      providers: [
        { provide: TELEMETRY_SETTINGS, useValue: { ...DEFAULT_TELEMETRY_SETTINGS, ...settings } },
        TelemetryRepository,
        TelemetryIngest,
        TelemetryRetention,
        TelemetryService,
      ],
      exports: [TelemetryIngest],
    };
  }
}
