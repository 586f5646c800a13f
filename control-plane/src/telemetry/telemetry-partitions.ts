const DAY_MS = 86_400_000;

/** A day partition of `telemetry_samples`: its UTC day as `YYYY-MM-DD`. */
export type PartitionDay = string;

export interface PartitionPlan {
  /** Days from today to `aheadDays` ahead that have no partition yet, oldest first. */
  create: PartitionDay[];
  /** Days wholly older than the retention period, oldest first: their partitions are dropped whole. */
  drop: PartitionDay[];
  /** Samples older than this are past retention; the default partition (samples outside every day) is trimmed by it. */
  cutoff: Date;
}

/**
 * What the partition job does now, from the days that have a partition. A day is dropped only
 * when all of it is older than `now - retentionDays`, so retention keeps up to one day more than
 * the period, never less.
 */
export function planPartitions(existing: readonly PartitionDay[], now: Date, aheadDays: number, retentionDays: number): PartitionPlan {
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const have = new Set(existing);
  const create: PartitionDay[] = [];
  for (let day = today; day <= today + aheadDays * DAY_MS; day += DAY_MS) {
    const name = dayOf(day);
    if (!have.has(name)) create.push(name);
  }
  const drop = [...existing].filter((day) => Date.parse(`${day}T00:00:00Z`) + DAY_MS <= cutoff.getTime()).sort();
  return { create, drop, cutoff };
}

/**
 * The days of these samples that the writer makes sure have a partition before writing them:
 * from yesterday (late samples just after midnight) to `aheadDays` ahead, the days the partition
 * job keeps, and not yet known to have one. A sample outside that range (a device clock far off)
 * goes to the default partition instead of growing a partition of its own.
 */
export function daysToEnsure(ats: readonly string[], known: ReadonlySet<PartitionDay>, now: Date, aheadDays: number): PartitionDay[] {
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const days = new Set<PartitionDay>();
  for (const at of ats) {
    const day = Math.floor(Date.parse(at) / DAY_MS) * DAY_MS;
    if (day >= today - DAY_MS && day <= today + aheadDays * DAY_MS) days.add(dayOf(day));
  }
  return [...days].filter((d) => !known.has(d)).sort();
}

export function partitionTable(day: PartitionDay): string {
  return `telemetry_samples_p${day.replace(/-/g, '')}`;
}

/** The day of a partition table's name, or null for a table that is not a day partition (the default one). */
export function partitionDayOf(table: string): PartitionDay | null {
  const m = /^telemetry_samples_p(\d{4})(\d{2})(\d{2})$/.exec(table);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

export function dayBounds(day: PartitionDay): { from: string; to: string } {
  const from = Date.parse(`${day}T00:00:00Z`);
  return { from: new Date(from).toISOString(), to: new Date(from + DAY_MS).toISOString() };
}

function dayOf(ms: number): PartitionDay {
  return new Date(ms).toISOString().slice(0, 10);
}
