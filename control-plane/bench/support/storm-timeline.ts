import { readFileSync } from 'node:fs';
import { epochNow } from './load-fleet';

/**
 * Where a storm's wall time goes: when each of its events reached a share of the fleet, in
 * seconds from the storm's start. CONNACKs are timed by the devices themselves (the load
 * generator's `Timings.connects`, exact); rows online or reported are sampled from the database
 * every `everyMs`. The storm's end is then one named event, and the tail between events (last
 * CONNACK → last row online) is visible instead of folded into one figure.
 */
export type Counts = Record<string, number>;
export type Reached = Record<string, Array<number | undefined>>;

export const SHARES = [0.5, 0.9, 0.99, 1] as const;

export class StormTimeline {
  private readonly samples: Array<{ at: number; counts: Counts }> = [];
  private running = true;
  private sampling: Promise<void> = Promise.resolve();

  private constructor(
    readonly startedAt: number,
    private readonly count: () => Promise<Counts>,
    private readonly everyMs: number,
  ) {}

  /** Starts sampling now; times are reported from `since` (`epochNow`; default now). */
  static start(count: () => Promise<Counts>, everyMs = 250, since = epochNow()): StormTimeline {
    const timeline = new StormTimeline(since, count, everyMs);
    timeline.tick();
    return timeline;
  }

  private tick(): void {
    // The next sample is taken `everyMs` after this one ends: a slow count never piles up.
    this.sampling = this.count().then(
      (counts) => void this.samples.push({ at: epochNow(), counts }),
      () => undefined,
    );
    void this.sampling.then(() => {
      if (this.running) setTimeout(() => this.running && this.tick(), this.everyMs);
    });
  }

  /** Stops sampling (after one last sample); per series, the seconds at which it first reached each share of `total`. */
  async stop(total: number): Promise<Reached> {
    this.running = false;
    await this.sampling;
    this.samples.push({ at: epochNow(), counts: await this.count() });
    const out: Reached = {};
    for (const series of Object.keys(this.samples.at(-1)!.counts)) {
      out[series] = SHARES.map((share) => {
        const hit = this.samples.find((s) => (s.counts[series] ?? 0) >= Math.ceil(share * total));
        return hit === undefined ? undefined : (hit.at - this.startedAt) / 1000;
      });
    }
    return out;
  }
}

/**
 * From the devices' own connect times (per device, `epochNow`): the seconds after `since` by
 * which each share of `total` devices had connected (each device counted at its first connect
 * from `since` on).
 */
export function connectsReached(connects: readonly number[][], since: number, total: number): Array<number | undefined> {
  const firsts = connects
    .map((times) => times.find((t) => t >= since))
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  return SHARES.map((share) => {
    const t = firsts[Math.ceil(share * total) - 1];
    return t === undefined ? undefined : (t - since) / 1000;
  });
}

/** One line per series: "plain connack: 50% 1.2 s, 90% 3.4 s, 99% 5.0 s, 100% 6.1 s". */
export function timelineLines(label: string, reached: Reached): string[] {
  return Object.entries(reached).map(
    ([series, times]) =>
      `${label} ${series}: ` +
      times.map((s, i) => `${Math.round(SHARES[i]! * 100)}% ${s === undefined ? 'not reached' : `${s.toFixed(1)} s`}`).join(', '),
  );
}

/**
 * The kernel's count of connections dropped because a listen queue was full (TcpExt
 * ListenOverflows, this network namespace: every process of the machine's loopback, not only
 * the storm's); a dropped SYN is retried by the client's TCP after 1 s, then 3 s, 7 s…
 */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const header = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[header]!.split(/\s+/);
  const values = lines[header + 1]!.split(/\s+/);
  return Number(values[names.indexOf('ListenOverflows')] ?? NaN);
}
