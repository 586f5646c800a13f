import { DataSource } from 'typeorm';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { MIGRATIONS } from './database.module';
import { migrateAlone } from './migrate-alone';

/** Replicas started at the same moment on an empty database: each migration runs once, and every replica starts. */
let db: TestDatabase;
const sources: DataSource[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(sources.filter((s) => s.isInitialized).map((s) => s.destroy()));
  await db?.drop();
});

it('runs the migrations once when three replicas start together', async () => {
  for (let i = 0; i < 3; i++) sources.push(new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, extra: { max: 2 } }));
  await Promise.all(sources.map(async (s) => migrateAlone(await s.initialize())));
  const ran = await db.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
  expect(ran.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
  expect(await Promise.all(sources.map((s) => s.showMigrations()))).toEqual([false, false, false]);
});
