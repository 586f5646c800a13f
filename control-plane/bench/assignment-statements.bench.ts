import { randomUUID } from 'node:crypto';
import { machineLine, median, printTable, runBench } from '../../test/bench/machine';
import { DESIRED_STATE_COLUMNS, desiredStateSelect } from '../src/devices/desired-state-rows';
import { LOCKED_IN_ID_ORDER, lockedInIdOrder } from '../src/devices/device-rows';
import { numberFlags } from './support/control-plane-process';
import { migratedDatabase } from './support/migrated-database';

/**
 * assignment-statements: the two statements that point many devices at a release, timed in
 * PostgreSQL alone on a fresh migrated database of `--devices` devices in one fleet: a fleet
 * target's over the whole fleet (its shape until session 18; a job now writes the first 128 devices
 * on their own, then the rest with this statement) and a rollout's
 * (segments of 2,048, as RolloutSettings.assignSegments grows to). Each as it is now, with
 * `newest_release_at` raised by the statement (devices/device-assignment.repository.ts,
 * migration 1765260000000), against the design before it, in the same sitting: the row trigger
 * `devices_keep_newest_release` firing for every row (migration 1764510000000). Every run in a
 * transaction rolled back; `--runs` each, alternating, the median printed. On a cluster with
 * durable settings unless `--durable 0` (the tests' server).
 */
const BEFORE = `DROP TRIGGER devices_keep_newest_release ON devices; DROP TRIGGER devices_keep_newest_release_insert ON devices;
  CREATE TRIGGER devices_keep_newest_release BEFORE INSERT OR UPDATE OF desired_release_id ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_keep_newest_release()`;
const RAISED = `, newest_release_at = GREATEST(d.newest_release_at, (SELECT created_at FROM releases WHERE id = $2))`;
const SEGMENT = 2048;

const fleetTarget = (raise: string) =>
  `WITH ${lockedInIdOrder('fleet_id = $1 AND pinned_release_id IS NULL AND decommissioned_at IS NULL AND desired_release_id IS DISTINCT FROM $2')}
   UPDATE devices d SET desired_release_id = $2, desired_rev = d.desired_rev + 1${raise} FROM locked WHERE d.id = locked.id RETURNING d.id`;
const rolloutSegment = (raise: string) =>
  `WITH ${LOCKED_IN_ID_ORDER},
   assigned AS (UPDATE devices d SET desired_release_id = $2, desired_rev = d.desired_rev + 1, desired_force = $3${raise}
     FROM locked WHERE d.id = locked.id AND d.decommissioned_at IS NULL RETURNING ${DESIRED_STATE_COLUMNS})
   ${desiredStateSelect('assigned')}`;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, runs: 9, durable: 1 });
  console.log(machineLine());
  const { ds, server, close } = await migratedDatabase(flags.durable === 1);
  try {
    const fleet = randomUUID();
    const [older, newer] = [randomUUID(), randomUUID()];
    await ds.query(`INSERT INTO fleets (id, name) VALUES ($1, 'bench')`, [fleet]);
    await ds.query(
      `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly, created_at)
       VALUES ($1, 'r', '1.0.0', 'd', '', '{}', now() - interval '1 day'), ($2, 'r', '1.0.1', 'd', '', '{}', now())`,
      [older, newer],
    );
    const ids = Array.from({ length: flags.devices }, (_, i) => `bench-${String(i).padStart(6, '0')}`);
    await ds.query(
      `INSERT INTO devices (id, name, password_hash, fleet_id, desired_release_id, desired_rev, tags, config)
       SELECT id, id, 'x', $2, $3, 1, '{}', '{}' FROM unnest($1::text[]) id`,
      [ids, fleet, older],
    );
    await ds.query('VACUUM ANALYZE devices');
    // The devices move to a newer release, as a fleet target or rollout mostly does (back to an older one, the trigger still runs).

    type Query = (sql: string, params: unknown[]) => Promise<unknown>;
    const measures: Record<string, (q: Query, raise: string) => Promise<unknown>> = {
      'fleet target (one statement)': (q, raise) => q(fleetTarget(raise), [fleet, newer]),
      [`rollout (segments of ${SEGMENT})`]: async (q, raise) => {
        for (let s = 0; s < ids.length; s += SEGMENT) await q(rolloutSegment(raise), [ids.slice(s, s + SEGMENT), newer, false]);
      },
    };
    const timed = async (work: (q: Query) => Promise<unknown>, setup?: string): Promise<number> => {
      const runner = ds.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        if (setup) await runner.query(setup);
        const t0 = performance.now();
        await work((sql, params) => runner.query(sql, params));
        return performance.now() - t0;
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    };
    const rows = [];
    for (const [name, measure] of Object.entries(measures)) {
      const before: number[] = [];
      const after: number[] = [];
      for (let i = 0; i < flags.runs; i++) {
        before.push(await timed((q) => measure(q, ''), BEFORE));
        after.push(await timed((q) => measure(q, RAISED)));
      }
      const [b, a] = [median(before), median(after)];
      rows.push({
        statement: name,
        devices: flags.devices,
        'row trigger (before) ms': b.toFixed(1),
        'raised by the statement ms': a.toFixed(1),
        'µs/device saved': (((b - a) * 1000) / flags.devices).toFixed(1),
        ratio: (a / b).toFixed(2),
      });
    }
    console.log(`PostgreSQL: ${server}; median of ${flags.runs} runs each, alternating`);
    printTable(rows);
  } finally {
    await close();
  }
}

runBench(main);
