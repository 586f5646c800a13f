import { procUsage } from './control-plane-process';

interface Db {
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface DatabaseUsageResult {
  /** Transactions committed in the database (every statement outside a transaction is one; the bench's own samples too). */
  commits: number;
  /** CPU seconds of the PostgreSQL backends serving the database (they share the machine's cores with the broker). */
  cpuSeconds: number;
}

/**
 * What a storm costs PostgreSQL, which the control plane's own CPU figure leaves out: the
 * database's commits (`pg_stat_database`) and the CPU of its backend processes (`/proc`, the
 * server runs on this machine). A backend that exits before `stop` is not counted; the pool
 * keeps its connections for a minute, longer than a storm.
 */
export class DatabaseUsage {
  private constructor(
    private readonly db: Db,
    private readonly commits0: number,
    private readonly cpu0: Map<number, number>,
  ) {}

  static async start(db: Db): Promise<DatabaseUsage> {
    const [commits, cpu] = await Promise.all([commitsOf(db), backendCpu(db)]);
    return new DatabaseUsage(db, commits, cpu);
  }

  async stop(): Promise<DatabaseUsageResult> {
    const [commits, cpu] = await Promise.all([commitsOf(this.db), backendCpu(this.db)]);
    let cpuSeconds = 0;
    for (const [pid, seconds] of cpu) cpuSeconds += seconds - (this.cpu0.get(pid) ?? 0);
    return { commits: commits - this.commits0, cpuSeconds };
  }
}

export function databaseUsageLine(label: string, usage: DatabaseUsageResult, devices: number): string {
  return (
    `${label}: database ${usage.commits} commits (${(usage.commits / devices).toFixed(3)} per device), ` +
    `PostgreSQL backends' CPU ${usage.cpuSeconds.toFixed(2)} s (${((1000 * usage.cpuSeconds) / devices).toFixed(3)} ms per device)`
  );
}

async function commitsOf(db: Db): Promise<number> {
  const [row] = await db.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(row!.n);
}

async function backendCpu(db: Db): Promise<Map<number, number>> {
  const rows = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      out.set(pid, procUsage(pid).cpuSeconds);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
