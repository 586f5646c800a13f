import { DynamicModule, Global, Module } from '@nestjs/common';
import { join } from 'node:path';
import { DevicesModule } from '../devices/devices.module';
import { DeltaRepository } from './delta.repository';
import { DeltaWorkshop } from './delta-workshop';
import { DeltasController, DeviceDeltasController } from './deltas.controller';
import { DELTA_WORKSHOP, DeltasService } from './deltas.service';

/** Binary layer deltas: computed once per image pair (scratch space under `<dataDir>/delta-work`), kept in the database, served to devices. Global: the rollout plan reads them. */
@Global()
@Module({})
export class DeltasModule {
  static forRoot(dataDir: string): DynamicModule {
    return {
      module: DeltasModule,
      imports: [DevicesModule],
      controllers: [DeltasController, DeviceDeltasController],
      providers: [{ provide: DELTA_WORKSHOP, useValue: new DeltaWorkshop(join(dataDir, 'delta-work')) }, DeltaRepository, DeltasService],
      exports: [DeltaRepository, DeltasService],
    };
  }
}
