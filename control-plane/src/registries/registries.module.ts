import { DynamicModule, Global, Module } from '@nestjs/common';
import { RegistriesController } from './registries.controller';
import { REGISTRY_SECRET_BOX, REGISTRY_SETTINGS, RegistriesService, type RegistrySettings } from './registries.service';
import { RegistryCredentialsRepository } from './registry-credentials.repository';
import { loadOrCreateSecretBox } from './secret-box';
import { REGISTRY_TOKEN_ISSUER, RegistryTokenAuthService } from './tokens/registry-token-auth.service';
import { RegistryTokenAuthRepository } from './tokens/registry-token-auth.repository';
import { RegistryTokenController } from './tokens/registry-token.controller';
import { loadOrCreateTokenIssuer } from './tokens/token-issuer';

/** Global: the devices domain reads registry access when it builds a device's `desired` message. */
@Global()
@Module({})
export class RegistriesModule {
  /**
   * The key that seals passwords lives in `<dataDir>/secrets.key`, the registry-token issuer's
   * key and certificate beside it; all made on first start.
   */
  static forRoot(dataDir: string, settings: RegistrySettings = {}): DynamicModule {
    return {
      module: RegistriesModule,
      controllers: [RegistriesController, RegistryTokenController],
      providers: [
        { provide: REGISTRY_SECRET_BOX, useFactory: () => loadOrCreateSecretBox(dataDir) },
        { provide: REGISTRY_TOKEN_ISSUER, useFactory: () => loadOrCreateTokenIssuer(dataDir) },
        { provide: REGISTRY_SETTINGS, useValue: settings },
        RegistryCredentialsRepository,
        RegistryTokenAuthRepository,
        RegistryTokenAuthService,
        RegistriesService,
      ],
      exports: [RegistriesService],
    };
  }
}
