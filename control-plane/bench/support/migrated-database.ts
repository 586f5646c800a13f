import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../src/database/database.module';
import { createTestDatabase } from '../../src/testing/test-database';
import { startDurablePostgres } from './durable-postgres';

/** A fresh database with every migration run, for benches that time statements in PostgreSQL alone. */
export interface MigratedDatabase {
  ds: DataSource;
  /** Where it runs, for the bench's output. */
  server: string;
  close(): Promise<void>;
}

/** On a throwaway cluster with durable settings (`durable`), else on the tests' server (fsync off). */
export async function migratedDatabase(durable: boolean): Promise<MigratedDatabase> {
  const cluster = durable ? await startDurablePostgres() : undefined;
  const db = await createTestDatabase(cluster?.url);
  const ds = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, migrationsTransactionMode: 'all' });
  const close = async (): Promise<void> => {
    await ds.destroy().catch(() => undefined);
    await db.drop();
    await cluster?.stop();
  };
  try {
    await ds.initialize();
    await ds.runMigrations();
  } catch (e) {
    await close();
    throw e;
  }
  return { ds, server: cluster ? 'a cluster with durable settings' : "the tests' server (fsync off)", close };
}
