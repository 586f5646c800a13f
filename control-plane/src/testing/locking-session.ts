import { Client } from 'pg';
import { eventually } from './harness';

/**
 * A test's own session on the control plane's database, outside its pool: it holds rows or
 * tables locked, as a slow concurrent writer would, and finds (or ends) the control plane's
 * backends that wait on them. Those waiting backends are the barrier for "the request is now
 * stuck on the lock", where a sleep would only make it likely.
 */
export class LockingSession {
  private constructor(private readonly client: Client) {}

  static async open(databaseUrl: string): Promise<LockingSession> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    return new LockingSession(client);
  }

  async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
    return (await this.client.query<T>(sql, params)).rows;
  }

  /**
   * Waits until at least `count` other sessions wait for a lock in a statement whose text holds
   * `statement` (by statement, since presence writes may wait on the same row), and returns
   * their backends' pids.
   */
  async waitersOn(statement: string, count = 1, timeoutMs = 20_000): Promise<number[]> {
    let pids: number[] = [];
    await eventually(
      async () => {
        // Inside the locking transaction: without this, pg_stat_activity answers its first snapshot again.
        await this.client.query('SELECT pg_stat_clear_snapshot()');
        const rows = await this.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE $1`,
          [`%${statement}%`],
        );
        pids = rows.map((r) => r.pid);
        return pids.length >= count;
      },
      timeoutMs,
      `${count} statement(s) on ${statement} waiting on a lock`,
    );
    return pids;
  }

  /**
   * Ends a backend as an administrator or a failover would (its client sees SQLSTATE 57P01), and
   * returns once it is gone, so that a later `waitersOn` never counts the same backend twice.
   */
  async terminate(pid: number): Promise<void> {
    await this.client.query('SELECT pg_terminate_backend($1)', [pid]);
    await eventually(
      async () => {
        await this.client.query('SELECT pg_stat_clear_snapshot()');
        return (await this.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length === 0;
      },
      10_000,
      `backend ${pid} to end`,
    );
  }

  async end(): Promise<void> {
    await this.client.end();
  }
}
