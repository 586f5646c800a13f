import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { InitialSchema1764201600000 } from './migrations/1764201600000-initial-schema';

/** Every migration, in order. The schema changes only through these, never by `synchronize`. */
export const MIGRATIONS = [InitialSchema1764201600000];

@Module({})
export class DatabaseModule {
  static forRoot(url: string): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url,
          // Entities are registered by each domain module through TypeOrmModule.forFeature.
          autoLoadEntities: true,
          synchronize: false,
          migrations: MIGRATIONS,
          migrationsRun: true,
          migrationsTransactionMode: 'all',
          retryAttempts: 3,
          retryDelay: 1000,
          // Fail fast instead of hanging requests when the server is unreachable.
          extra: { connectionTimeoutMillis: 5000, max: 10 },
        }),
      ],
    };
  }
}
