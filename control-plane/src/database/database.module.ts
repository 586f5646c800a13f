import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { RejectedWrites } from './rejected-writes';
import { clampingTypes } from './timestamp-parser';
import { InitialSchema1764201600000 } from './migrations/1764201600000-initial-schema';
import { Fleets1764288000000 } from './migrations/1764288000000-fleets';
import { Library1764300000000 } from './migrations/1764300000000-library';
import { Rollouts1764350000000 } from './migrations/1764350000000-rollouts';
import { OperatorsAudit1764350001000 } from './migrations/1764350001000-operators-audit';
import { TelemetryRetention1764350002000 } from './migrations/1764350002000-telemetry-retention';
import { RegistryCredentials1764400000000 } from './migrations/1764400000000-registry-credentials';
import { DeviceListIndexes1764410000000 } from './migrations/1764410000000-device-list-indexes';
import { ReleaseIdempotency1764420000000 } from './migrations/1764420000000-release-idempotency';
import { DeviceCertificates1764500000000 } from './migrations/1764500000000-device-certificates';
import { ReleaseDowngrades1764510000000 } from './migrations/1764510000000-release-downgrades';
import { RegistryAccess1764520000000 } from './migrations/1764520000000-registry-access';
import { FleetHostPolicies1764550000000 } from './migrations/1764550000000-fleet-host-policies';
import { DeviceEventPruning1764540000000 } from './migrations/1764540000000-device-event-pruning';
import { AcceptedFailures1764570000000 } from './migrations/1764570000000-accepted-failures';
import { UpdateLockPolicy1764570001000 } from './migrations/1764570001000-update-lock-policy';
import { MaintenanceWindows1764570002000 } from './migrations/1764570002000-maintenance-windows';
import { Replicas1765000000000 } from './migrations/1765000000000-replicas';
import { DEFAULT_DATABASE_POOL, type DatabasePoolSettings } from './database-pool';
import { migrateAlone } from './migrate-alone';
import { PgNotifications } from './pg-notifications';
import { REPLICA_ID, replicaId } from './replica-id';
import { ScheduledJobRepository } from './scheduled-job.repository';
import { ScheduledJobs } from './scheduled-jobs';
import { ReplicaHeartbeats } from './replica-heartbeats';
import { ImageDeltas1765030000000 } from './migrations/1765030000000-image-deltas';
import { TelemetryPartitions1765020000000 } from './migrations/1765020000000-telemetry-partitions';
import { FleetTargetJobs1765020001000 } from './migrations/1765020001000-fleet-target-jobs';
import { DeviceDirectoryNotify1765040000000 } from './migrations/1765040000000-device-directory-notify';
import { PresenceOwners1765050000000 } from './migrations/1765050000000-presence-owners';
import { DeviceEventIds1765110000000 } from './migrations/1765110000000-device-event-ids';
import { TelemetrySampleIdentity1765180000000 } from './migrations/1765180000000-telemetry-sample-identity';
import { RoomForHotUpdates1765245000000 } from './migrations/1765245000000-room-for-hot-updates';
import { AssignmentsInPlace1765250000000 } from './migrations/1765250000000-assignments-in-place';
import { RolledBackLookup1765250001000 } from './migrations/1765250001000-rolled-back-lookup';
import { NewestReleaseByStatement1765260000000 } from './migrations/1765260000000-newest-release-by-statement';
import { FleetTargetSegments1765270000000 } from './migrations/1765270000000-fleet-target-segments';
import { DirectoryRevInNotification1765270001000 } from './migrations/1765270001000-directory-rev-in-notification';
import { LegacyReportOffsets1765280000000 } from './migrations/1765280000000-legacy-report-offsets';
import { SESSION_OPTIONS } from './session-options';

/** Every migration, in order. The schema changes only through these, never by `synchronize`. */
export const MIGRATIONS = [
  InitialSchema1764201600000,
  Fleets1764288000000,
  Library1764300000000,
  Rollouts1764350000000,
  OperatorsAudit1764350001000,
  TelemetryRetention1764350002000,
  RegistryCredentials1764400000000,
  DeviceListIndexes1764410000000,
  ReleaseIdempotency1764420000000,
  DeviceCertificates1764500000000,
  ReleaseDowngrades1764510000000,
  RegistryAccess1764520000000,
  DeviceEventPruning1764540000000,
  FleetHostPolicies1764550000000,
  AcceptedFailures1764570000000,
  UpdateLockPolicy1764570001000,
  MaintenanceWindows1764570002000,
  Replicas1765000000000,
  TelemetryPartitions1765020000000,
  FleetTargetJobs1765020001000,
  ImageDeltas1765030000000,
  DeviceDirectoryNotify1765040000000,
  PresenceOwners1765050000000,
  DeviceEventIds1765110000000,
  TelemetrySampleIdentity1765180000000,
  RoomForHotUpdates1765245000000,
  AssignmentsInPlace1765250000000,
  RolledBackLookup1765250001000,
  NewestReleaseByStatement1765260000000,
  FleetTargetSegments1765270000000,
  DirectoryRevInNotification1765270001000,
  LegacyReportOffsets1765280000000,
];

@Module({})
export class DatabaseModule {
  static forRoot(url: string, poolSettings: Partial<DatabasePoolSettings> = {}): DynamicModule {
    const pool = { ...DEFAULT_DATABASE_POOL, ...poolSettings };
    return {
      module: DatabaseModule,
      // Global like TypeORM's DataSource: every batch writer reports the rows it had to drop; what
      // coordinates the replicas sharing the database (notifications, timed jobs) is used everywhere.
      global: true,
      providers: [
        RejectedWrites,
        { provide: REPLICA_ID, useValue: replicaId() },
        { provide: PgNotifications, useFactory: () => new PgNotifications(url) },
        ScheduledJobRepository,
        ScheduledJobs,
        ReplicaHeartbeats,
      ],
      exports: [RejectedWrites, REPLICA_ID, PgNotifications, ScheduledJobs],
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres' as const,
            url,
            // Entities are registered by each domain module through TypeOrmModule.forFeature.
            autoLoadEntities: true,
            synchronize: false,
            migrations: MIGRATIONS,
            // Run by migrateAlone below, one replica at a time, rather than by TypeORM on its own.
            migrationsRun: false,
            retryAttempts: 3,
            retryDelay: 1000,
            // Bounded waits for a connection (database-pool.ts says why these values).
            // Timestamps past what a Date holds are clamped on read, so one odd row cannot fail a list.
            extra: {
              options: SESSION_OPTIONS,
              connectionTimeoutMillis: pool.connectTimeoutMs,
              idleTimeoutMillis: pool.idleTimeoutMs,
              max: pool.max,
              types: clampingTypes,
            },
          }),
          dataSourceFactory: async (options) => migrateAlone(await new DataSource(options as DataSourceOptions).initialize()),
        }),
      ],
    };
  }
}
