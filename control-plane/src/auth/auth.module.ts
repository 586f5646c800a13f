import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { OPERATOR_API_KEY, OperatorAuthGuard } from './operator-auth.guard';

@Module({})
export class AuthModule {
  static forRoot(apiKey: string): DynamicModule {
    return {
      module: AuthModule,
      providers: [
        { provide: OPERATOR_API_KEY, useValue: apiKey },
        { provide: APP_GUARD, useClass: OperatorAuthGuard },
      ],
    };
  }
}
