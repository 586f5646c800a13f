import { DynamicModule, Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { DevicesModule } from '../devices/devices.module';
import { DeltaRepository } from './delta.repository';
import { DeltaStore } from './delta-store';
import { DeltasController, DeviceDeltasController } from './deltas.controller';
import { DELTA_STORE, DeltasService } from './deltas.service';

/** Binary layer deltas: computed once per image pair, kept under `<dataDir>/deltas`, served to devices. Global: the rollout plan reads them. */
@Global()
@Module({})
export class DeltasModule {
  static forRoot(dataDir: string): DynamicModule {
    return {
      module: DeltasModule,
      imports: [DevicesModule],
      controllers: [DeltasController, DeviceDeltasController],
      providers: [{ provide: DELTA_STORE, useValue: new DeltaStore(join(dataDir, 'deltas')) }, DeltaRepository, DeltasService],
      exports: [DeltaRepository, DeltasService],
    };
  }
}
