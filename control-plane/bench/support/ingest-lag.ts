import { Client } from 'pg';
import { percentile } from '../../../test/bench/machine';

/**
 * Watches `telemetry_samples` for new rows (by id) every `everyMs` and records, per row whose
 * sample time lies in the measured window, how long after its `at` it became visible. The poll
 * period bounds the resolution: a lag is overstated by at most `everyMs` plus one query.
 * On a server with `track_commit_timestamp` (the durable cluster), `stop` replaces the polled
 * figures by exact ones: each row's commit time minus its `at`. Polling by id also misses rows
 * committed after rows with higher ids (batches written side by side); commit times do not.
 */
export class IngestLagProbe {
  private lastId = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  readonly lags: number[] = [];
  private windowFrom = Infinity;
  private windowTo = Infinity;
  rowsInWindow = 0;

  private constructor(
    private readonly client: Client,
    private readonly everyMs: number,
  ) {}

  static async start(databaseUrl: string, everyMs = 100): Promise<IngestLagProbe> {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    const probe = new IngestLagProbe(client, everyMs);
    probe.lastId = Number((await client.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM telemetry_samples')).rows[0]!.id);
    probe.timer = setInterval(() => void probe.poll(), everyMs);
    return probe;
  }

  /** Only samples taken within [from, to) (epoch ms) count. */
  window(from: number, to: number): void {
    this.windowFrom = from;
    this.windowTo = to;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const { rows } = await this.client.query<{ id: string; at_ms: number }>(
        'SELECT id, (extract(epoch FROM at) * 1000)::float8 AS at_ms FROM telemetry_samples WHERE id > $1 ORDER BY id LIMIT 50000',
        [this.lastId],
      );
      const now = Date.now();
      for (const r of rows) {
        this.lastId = Math.max(this.lastId, Number(r.id));
        if (r.at_ms >= this.windowFrom && r.at_ms < this.windowTo) {
          this.rowsInWindow++;
          this.lags.push(now - r.at_ms);
        }
      }
    } finally {
      this.polling = false;
    }
  }

  summary(): { p50: number; p99: number; max: number } {
    const sorted = [...this.lags].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.poll().catch(() => undefined);
    try {
      const { rows } = await this.client.query<{ on: string }>(`SELECT current_setting('track_commit_timestamp') AS on`);
      if (rows[0]!.on !== 'on' || !Number.isFinite(this.windowTo)) return;
      const lags = await this.client.query<{ lag: number }>(
        `SELECT (extract(epoch FROM pg_xact_commit_timestamp(xmin) - at) * 1000)::float8 AS lag FROM telemetry_samples
         WHERE at >= to_timestamp($1 / 1000.0) AND at < to_timestamp($2 / 1000.0)`,
        [this.windowFrom, this.windowTo],
      );
      this.lags.length = 0;
      for (const r of lags.rows) this.lags.push(r.lag);
      this.rowsInWindow = lags.rows.length;
      this.exact = true;
    } finally {
      await this.client.end();
    }
  }

  /** Whether the figures are from commit timestamps (exact) rather than polling. */
  exact = false;

  get resolutionMs(): number {
    return this.exact ? 0 : this.everyMs;
  }
}
