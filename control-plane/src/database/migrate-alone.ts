import type { DataSource } from 'typeorm';

/** Any constant shared by every replica; the key of PostgreSQL's advisory lock around migrations. */
const MIGRATION_LOCK = 0x666c6f74; // "flot"

/**
 * Runs pending migrations while holding an advisory lock, so replicas started together migrate
 * one after the other: the first does the work, the others find nothing pending. TypeORM's own
 * `migrationsRun` takes no lock, and two replicas creating the same table at once fail to start.
 */
export async function migrateAlone(dataSource: DataSource): Promise<DataSource> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await dataSource.runMigrations({ transaction: 'all' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } catch (e) {
    await runner.release();
    await dataSource.destroy();
    throw e;
  }
  await runner.release();
  return dataSource;
}
