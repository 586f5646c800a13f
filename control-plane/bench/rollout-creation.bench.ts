import { randomUUID } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { machineLine, median, printTable, runBench } from '../../test/bench/machine';
import { MIGRATIONS } from '../src/database/database.module';
import { unitOfWork } from '../src/database/unit-of-work';
import { RolloutRepository } from '../src/rollouts/rollout.repository';
import { pendingDevice, type RolloutState } from '../src/rollouts/rollout-state';
import { createTestDatabase } from '../src/testing/test-database';
import { numberFlags } from './support/control-plane-process';
import { startDurablePostgres } from './support/durable-postgres';

/**
 * The design before: a new rollout's devices written as a pass saves changed ones, every column as
 * an array and an upsert (rollouts/rollout.repository.ts, `writeStatusAndDevices`).
 */
type Write = (runner: QueryRunner, state: RolloutState) => Promise<unknown>;

const EVERY_COLUMN = `WITH status AS (UPDATE rollouts SET status = $14, status_reason = $15, current_phase = $16, updated_at = now() WHERE id = $1)
  INSERT INTO rollout_devices (rollout_id, device_id, phase, state, assigned_rev, assigned_at, finished_at, previous_release_id, reason, joined,
    accepted_by, accepted_at, waiting_for)
  SELECT $1::uuid, * FROM unnest($2::text[], $3::int[], $4::text[], $5::int[], $6::timestamptz[], $7::timestamptz[], $8::uuid[], $9::text[],
    $10::bool[], $11::text[], $12::timestamptz[], $13::text[])
  ON CONFLICT (rollout_id, device_id) DO UPDATE SET phase = excluded.phase, state = excluded.state,
    assigned_rev = excluded.assigned_rev, assigned_at = excluded.assigned_at, finished_at = excluded.finished_at,
    previous_release_id = excluded.previous_release_id, reason = excluded.reason, joined = excluded.joined,
    accepted_by = excluded.accepted_by, accepted_at = excluded.accepted_at, waiting_for = excluded.waiting_for`;

/**
 * rollout-creation: the write that creates a rollout of `--devices` devices (one fleet, one
 * phase), on a fresh migrated database, timed from the client (the parameters' encoding
 * included): `RolloutRepository.insert` as it is now (ids and phases only), the rollout's row
 * included, against the devices' write alone of the design before it (every column, an upsert),
 * in the same sitting. Each run in a transaction rolled back;
 * `--runs` each, alternating, the median printed. On a cluster with durable settings unless
 * `--durable 0` (the tests' server).
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, runs: 9, durable: 1 });
  console.log(machineLine());
  const durable = flags.durable ? await startDurablePostgres() : undefined;
  const db = await createTestDatabase(durable?.url);
  const ds = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, migrationsTransactionMode: 'all' });
  try {
    await ds.initialize();
    await ds.runMigrations();
    const release = randomUUID();
    await ds.query(`INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, 'r', '1.0.0', 'd', '', '{}')`, [
      release,
    ]);
    const ids = Array.from({ length: flags.devices }, (_, i) => `bench-${String(i).padStart(6, '0')}`);
    await ds.query(
      `INSERT INTO devices (id, name, password_hash, tags, config) SELECT id, id, 'x', '{}', '{}' FROM unnest($1::text[]) id`,
      [ids],
    );
    await ds.query('VACUUM ANALYZE devices');
    const repository = new RolloutRepository(ds);
    const rollout = (): RolloutState => ({
      id: randomUUID(),
      releaseId: release,
      status: 'running',
      statusReason: null,
      advance: 'auto',
      currentPhase: 0,
      deviceTimeoutMs: 600_000,
      force: false,
      phases: [{ name: 'all', successThreshold: 100, failureThreshold: 0, onFailure: 'pause' }],
      devices: ids.map((id) => pendingDevice(id, 0)),
    });
    const record = (state: RolloutState) => ({
      state,
      name: 'bench',
      selection: { deviceIds: [] },
      requestDigest: 'd',
      createdBy: 'bench',
      idempotencyKey: null,
    });
    const none = ids.map(() => null);
    /** Each design's write, timed; `prepare` runs before the clock starts. */
    const designs: Record<string, { prepare?: Write; write: Write }> = {
      'every column, upsert (before)': {
        // The rollout's own row first, untimed: only its devices' write is timed, against the whole of `insert` now.
        prepare: (runner, s) => repository.insert(unitOfWork(runner.manager), record({ ...s, devices: [] })),
        write: (runner, s) =>
          runner.query(EVERY_COLUMN, [
            s.id,
            s.devices.map((d) => d.deviceId),
            s.devices.map((d) => d.phase),
            s.devices.map((d) => d.state),
            none,
            none,
            none,
            none,
            none,
            s.devices.map((d) => d.joined),
            none,
            none,
            none,
            s.status,
            s.statusReason,
            s.currentPhase,
          ]),
      },
      'ids and phases (now)': { write: (runner, s) => repository.insert(unitOfWork(runner.manager), record(s)) },
    };
    const times = new Map(Object.keys(designs).map((name) => [name, [] as number[]]));
    for (let i = 0; i < flags.runs; i++)
      for (const [name, { prepare, write }] of Object.entries(designs)) {
        const runner = ds.createQueryRunner();
        await runner.connect();
        try {
          await runner.startTransaction();
          const state = rollout();
          await prepare?.(runner, state);
          const t0 = performance.now();
          await write(runner, state);
          times.get(name)!.push(performance.now() - t0);
          const [{ n }] = (await runner.query('SELECT count(*)::int AS n FROM rollout_devices WHERE rollout_id = $1', [state.id])) as [
            { n: number },
          ];
          if (n !== flags.devices) throw new Error(`${name}: wrote ${n} of ${flags.devices} devices`);
        } finally {
          await runner.rollbackTransaction();
          await runner.release();
        }
      }
    const [before, now] = [...times.values()].map(median) as [number, number];
    console.log(
      `PostgreSQL: ${durable ? 'a cluster with durable settings' : "the tests' server (fsync off)"}; median of ${flags.runs} runs each, alternating`,
    );
    printTable([
      {
        devices: flags.devices,
        ...Object.fromEntries([...times].map(([name, samples]) => [`${name} ms`, median(samples).toFixed(1)])),
        ratio: (now / before).toFixed(2),
      },
    ]);
  } finally {
    await ds.destroy().catch(() => undefined);
    await db.drop();
    await durable?.stop();
  }
}

runBench(main);
