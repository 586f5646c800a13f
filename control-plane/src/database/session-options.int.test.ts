import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { startHarness, type Harness } from '../testing/harness';

/**
 * Integration (a real PostgreSQL, the control plane's own pool): the sessions the control plane
 * opens run without JIT (session-options.ts), while the server's default, which a plain session
 * gets, is on: the setting is the control plane's, not the test server's.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

async function jitOf(query: (sql: string) => Promise<{ jit: string }[]>): Promise<string | undefined> {
  return (await query('SHOW jit'))[0]?.jit;
}

it('runs the pool’s sessions with JIT off, where the server’s default is on', async () => {
  const plain = new Client({ connectionString: h.db.url });
  await plain.connect();
  try {
    expect(await jitOf(async (sql) => (await plain.query<{ jit: string }>(sql)).rows)).toBe('on');
  } finally {
    await plain.end();
  }
  const pool = h.cp.app.get(DataSource);
  // Several at once, so that more than one of the pool's connections answers.
  const answers = await Promise.all(Array.from({ length: 4 }, () => jitOf((sql) => pool.query(sql))));
  expect(answers).toEqual(['off', 'off', 'off', 'off']);
});
