import type { Env } from '../config';

/** The connection pool each replica keeps to PostgreSQL. */
export interface DatabasePoolSettings {
  /** Connections at most (`FLOTILLA_DATABASE_POOL_MAX`, default 10): replicas × this must stay under the server's max_connections. */
  max: number;
  /**
   * How long a query waits for a connection, pooled or new (`FLOTILLA_DATABASE_CONNECT_TIMEOUT_S`,
   * default 10). Past it the query fails as transient: a request answers 503 with Retry-After, a
   * device message's write is retried.
   */
  connectTimeoutMs: number;
  /**
   * An unused connection is closed after this long (60 s). Not node-postgres' 10 s: under load, a
   * pool that shrinks between bursts must connect again at the next, and connecting (a backend
   * forked, SCRAM) is what timed out first on a loaded host.
   */
  idleTimeoutMs: number;
}

export const DEFAULT_DATABASE_POOL: DatabasePoolSettings = { max: 10, connectTimeoutMs: 10_000, idleTimeoutMs: 60_000 };

export function loadDatabasePool(env: Env): DatabasePoolSettings {
  const max = bounded(env, 'FLOTILLA_DATABASE_POOL_MAX', 1, 1000);
  const connectTimeoutS = bounded(env, 'FLOTILLA_DATABASE_CONNECT_TIMEOUT_S', 1, 600);
  return {
    ...DEFAULT_DATABASE_POOL,
    ...(max !== undefined ? { max } : {}),
    ...(connectTimeoutS !== undefined ? { connectTimeoutMs: connectTimeoutS * 1000 } : {}),
  };
}

function bounded(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}
