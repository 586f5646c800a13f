import { DynamicModule, Global, Module } from '@nestjs/common';
import { KeyStore } from './key-store';
import { DEFAULT_KEY_HORIZON, Keyring } from './keyring';
import { SigningController } from './signing.controller';
import { SIGNING_KEY_STORE, SIGNING_KEYRING, SigningService } from './signing.service';

/** Global: releases sign with it and provisioning hands out its public keys. */
@Global()
@Module({})
export class SigningModule {
  /** Keys live in `<dataDir>/release-signing-keys/`; the first is generated on first start. */
  static forRoot(dataDir: string, horizon = DEFAULT_KEY_HORIZON): DynamicModule {
    return {
      module: SigningModule,
      controllers: [SigningController],
      providers: [
        { provide: SIGNING_KEY_STORE, useValue: KeyStore.inDataDir(dataDir) },
        {
          provide: SIGNING_KEYRING,
          inject: [SIGNING_KEY_STORE],
          useFactory: async (store: KeyStore) => new Keyring(await store.loadOrCreate(), horizon),
        },
        SigningService,
      ],
      exports: [SigningService],
    };
  }
}
