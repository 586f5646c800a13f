import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import { BrokerTransportModule } from './broker/broker-transport.module';
import { BrokerModule } from './broker/broker.module';
import type { BrokerSettings } from './broker/mqtt-server';
import { DatabaseModule } from './database/database.module';
import { DevicesModule } from './devices/devices.module';
import { HealthModule } from './health/health.module';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { ProvisioningModule } from './provisioning/provisioning.module';
import { ReleasesModule } from './releases/releases.module';

export interface AppOptions {
  databaseUrl: string;
  apiKey: string;
  broker: BrokerSettings;
}

@Module({})
export class AppModule {
  static forRoot(options: AppOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DatabaseModule.forRoot(options.databaseUrl),
        AuthModule.forRoot(options.apiKey),
        BrokerTransportModule.forRoot(options.broker),
        ReleasesModule,
        DevicesModule,
        ProvisioningModule,
        BrokerModule,
        HealthModule,
      ],
      providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }],
    };
  }
}
