import { DynamicModule, Global, Module } from '@nestjs/common';
import { RegistriesController } from './registries.controller';
import { REGISTRY_SECRET_BOX, RegistriesService } from './registries.service';
import { RegistryCredentialsRepository } from './registry-credentials.repository';
import { loadOrCreateSecretBox } from './secret-box';

/** Global: the devices domain reads credentials when it builds a device's `desired` message. */
@Global()
@Module({})
export class RegistriesModule {
  /** The key that seals passwords lives in `<dataDir>/secrets.key`; made on first start. */
  static forRoot(dataDir: string): DynamicModule {
    return {
      module: RegistriesModule,
      controllers: [RegistriesController],
      providers: [
        { provide: REGISTRY_SECRET_BOX, useFactory: () => loadOrCreateSecretBox(dataDir) },
        RegistryCredentialsRepository,
        RegistriesService,
      ],
      exports: [RegistriesService],
    };
  }
}
