import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { OperatorAuthGuard } from './operator-auth.guard';
import { OperatorKeyRepository } from './operator-key.repository';
import { OperatorKeysController } from './operator-keys.controller';
import { KEY_RECHECK, KEY_RECHECK_MS, OPERATOR_API_KEY, OperatorKeysService } from './operator-keys.service';

/**
 * Operator keys and the guard in front of every route. The bootstrap key (data directory or env) is an admin.
 * Global: long-lived answers (the event stream) watch their key through OperatorKeysService, and the
 * registry token realm authenticates keys sent the way Docker sends them.
 */
@Module({})
export class AuthModule {
  static forRoot(apiKey: string, keyRecheckMs = KEY_RECHECK_MS): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      controllers: [OperatorKeysController],
      providers: [
        { provide: OPERATOR_API_KEY, useValue: apiKey },
        { provide: KEY_RECHECK, useValue: keyRecheckMs },
        OperatorKeyRepository,
        OperatorKeysService,
        { provide: APP_GUARD, useClass: OperatorAuthGuard },
      ],
      exports: [OperatorKeysService],
    };
  }
}
