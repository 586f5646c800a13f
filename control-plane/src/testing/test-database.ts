import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

// The PostgreSQL that test/setup/ensure-services.sh starts; its address is kept in one place.
import { TEST_DATABASE_URL } from '../../../test/setup/services';

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs SQL in the test database, for checks the API does not expose. */
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs SQL in the server's maintenance database (for ALTER DATABASE and the like). */
  admin<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * A new, empty database per test file, so migrations run from scratch and files run in parallel.
 * `serverUrl`: another server than the tests' (a benchmark's durable one).
 */
export async function createTestDatabase(serverUrl = TEST_DATABASE_URL): Promise<TestDatabase> {
  const name = `flotilla_cp_${randomBytes(6).toString('hex')}`;
  const admin = async <T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  // A pool, so the helper reconnects after a test has terminated the database's sessions.
  const pool = new Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    name,
    query: async <T extends Record<string, unknown>>(sql: string, params?: unknown[]) => (await pool.query<T>(sql, params)).rows,
    admin,
    drop: async () => {
      await pool.end();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
