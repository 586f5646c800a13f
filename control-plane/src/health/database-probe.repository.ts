import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SharedProbe } from './shared-probe';

/** How long a probe's answer is reused, and how long a caller waits for one: a load balancer or an orchestrator probes every few seconds. */
export const PROBE_REUSE_MS = 1_000;
export const PROBE_WAIT_MS = 2_000;

export type MigrationsState = 'done' | 'pending' | 'unknown';

/**
 * Whether PostgreSQL answers and its schema is current; the health checks' only database access.
 * Both are public (`/healthz`, `/readyz`), so each check is shared (SharedProbe).
 */
@Injectable()
export class DatabaseProbeRepository {
  private readonly ping: SharedProbe<boolean>;
  private readonly schema: SharedProbe<MigrationsState>;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    const shared = { reuseMs: PROBE_REUSE_MS, waitMs: PROBE_WAIT_MS };
    this.ping = new SharedProbe(
      () =>
        this.dataSource.query('SELECT 1').then(
          () => true,
          () => false,
        ),
      { ...shared, late: false },
    );
    this.schema = new SharedProbe(
      () =>
        this.dataSource.showMigrations().then(
          (pending) => (pending ? 'pending' : 'done'),
          () => 'unknown' as const,
        ),
      { ...shared, late: 'unknown' },
    );
  }

  isUp(): Promise<boolean> {
    return this.ping.get();
  }

  /** Whether a migration this build knows of has not run on the database; `unknown` when that could not be read in time. */
  migrations(): Promise<MigrationsState> {
    return this.schema.get();
  }
}
