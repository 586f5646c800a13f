import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BrokerTransportModule } from './broker/broker-transport.module';
import { BrokerModule } from './broker/broker.module';
import { CertificatesModule } from './certificates/certificates.module';
import { CommandsModule } from './commands/commands.module';
import type { BrokerSettings } from './broker/mqtt-server';
import { DatabaseModule } from './database/database.module';
import { DeltasModule } from './deltas/deltas.module';
import { DevicesModule } from './devices/devices.module';
import { HealthModule } from './health/health.module';
import { HostPolicyModule } from './host-policy/host-policy.module';
import type { DeviceLimits } from './limits/device-limits';
import { LimitsModule } from './limits/limits.module';
import { ApiExceptionFilter } from './http/api-exception.filter';
import { OpenApiModule } from './openapi/openapi.module';
import { ProvisioningModule } from './provisioning/provisioning.module';
import { RegistriesModule } from './registries/registries.module';
import { ReleasesModule } from './releases/releases.module';
import type { Clock, RolloutSettings } from './rollouts/rollout-settings';
import { RolloutsModule } from './rollouts/rollouts.module';
import { SigningModule } from './signing/signing.module';
import type { TelemetrySettings } from './telemetry/telemetry-settings';
import { TelemetryModule } from './telemetry/telemetry.module';
import { DashboardModule } from './dashboard/dashboard.module';
import type { KeyAndCertificate } from './tls/x509';
import type { DatabasePoolSettings } from './database/database-pool';

export interface AppOptions {
  databaseUrl: string;
  databasePool?: Partial<DatabasePoolSettings>;
  apiKey: string;
  /** How often a long-lived answer re-reads whether its key is still valid; default `KEY_RECHECK_MS`. */
  keyRecheckMs?: number;
  /** How far back the dashboard's change feed reads before its last read; default `FEED_OVERLAP_MS`. */
  feedOverlapMs?: number;
  broker: BrokerSettings;
  /** State directory: the release-signing keys live under it. */
  dataDir: string;
  /** Signing-key rotations a device may miss (`Keyring`); default `DEFAULT_KEY_HORIZON`. */
  signingKeyHorizon?: number;
  /** The API URL written into provisioning files, when devices must use another address than the request's host. */
  publicApiUrl?: string;
  /** What devices are told and trust; absent: plain listeners only, passwords only. */
  deviceTrust?: DeviceTrust;
  /** Engine timing; tests make it faster. */
  rollouts?: Partial<RolloutSettings>;
  /** The rollout engine's time; default the system's (tests simulate it: maintenance windows, phase timing). */
  clock?: Clock;
  telemetry?: Partial<TelemetrySettings>;
  /** Per-device quotas and connection limits; defaults in `limits/device-limits.ts`. */
  limits?: Partial<DeviceLimits>;
}

export interface DeviceTrust {
  /** The CAs devices pin (provisioning's `caCertificates`). */
  caCertificates: string[];
  /** Where devices reach the API over TLS; absent when a proxy terminates TLS (the public URL says where). */
  httpsPort?: number;
  /** Issues device client certificates; null when the broker cannot see them (TLS terminated by a proxy). */
  deviceCa: KeyAndCertificate | null;
}

@Module({})
export class AppModule {
  static forRoot(options: AppOptions): DynamicModule {
    // One instance, imported by the health module too (for the rollout metrics).
    const rollouts = RolloutsModule.forRoot(options.rollouts, options.clock);
    return {
      module: AppModule,
      imports: [
        DatabaseModule.forRoot(options.databaseUrl, options.databasePool),
        AuthModule.forRoot(options.apiKey, options.keyRecheckMs),
        LimitsModule.forRoot(options.limits),
        BrokerTransportModule.forRoot(options.broker),
        SigningModule.forRoot(options.dataDir, options.signingKeyHorizon),
        RegistriesModule.forRoot(options.dataDir, { ...(options.publicApiUrl ? { publicApiUrl: options.publicApiUrl } : {}) }),
        HostPolicyModule,
        ReleasesModule,
        DeltasModule.forRoot(options.dataDir),
        DevicesModule,
        CertificatesModule.forRoot(options.deviceTrust?.deviceCa ?? null),
        ProvisioningModule.forRoot({
          ...(options.publicApiUrl ? { publicApiUrl: options.publicApiUrl } : {}),
          ...(options.deviceTrust?.httpsPort !== undefined ? { httpsPort: options.deviceTrust.httpsPort } : {}),
          ...(options.deviceTrust ? { caCertificates: options.deviceTrust.caCertificates } : {}),
        }),
        BrokerModule.forRoot(options.broker),
        TelemetryModule.forRoot(options.telemetry),
        rollouts,
        CommandsModule,
        AuditModule,
        OpenApiModule,
        HealthModule.forRoot(rollouts),
        DashboardModule.forRoot(options.feedOverlapMs),
      ],
      providers: [{ provide: APP_FILTER, useClass: ApiExceptionFilter }],
    };
  }
}
