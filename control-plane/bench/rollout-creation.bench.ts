import { randomUUID } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { machineLine, median, printTable, runBench } from '../../test/bench/machine';
import { unitOfWork } from '../src/database/unit-of-work';
import { RolloutRepository } from '../src/rollouts/rollout.repository';
import { pendingDevice, type RolloutState } from '../src/rollouts/rollout-state';
import { numberFlags } from './support/control-plane-process';
import { migratedDatabase } from './support/migrated-database';

type Write = (runner: QueryRunner, state: RolloutState) => Promise<unknown>;

/**
 * rollout-creation: the write that creates a rollout of `--devices` devices (one fleet, one
 * phase), on a fresh migrated database, timed from the client (the parameters' encoding
 * included): `RolloutRepository.insert` as it is now (ids and phases only, the rollout's own row
 * included) against the design before it, which wrote them as a pass writes the devices that
 * changed (`save`, every column, an upsert; its comparison of the two device lists included), in
 * the same sitting. Each run in a transaction rolled back; `--runs` each, alternating, the median
 * printed. On a cluster with durable settings unless `--durable 0` (the tests' server).
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, runs: 9, durable: 1 });
  console.log(machineLine());
  const { ds, server, close } = await migratedDatabase(flags.durable === 1);
  try {
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
    /** Each design's write, timed; `prepare` runs before the clock starts. */
    const designs: Record<string, { prepare?: Write; write: Write }> = {
      // The rollout's own row first, untimed: only its devices' write is timed, against the whole of `insert` now.
      'every column, upsert (before)': {
        prepare: (runner, s) => repository.insert(unitOfWork(runner.manager), record({ ...s, devices: [] })),
        write: (runner, s) => repository.save(unitOfWork(runner.manager), { ...s, devices: [] }, s),
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
    console.log(`PostgreSQL: ${server}; median of ${flags.runs} runs each, alternating`);
    printTable([
      {
        devices: flags.devices,
        ...Object.fromEntries([...times].map(([name, samples]) => [`${name} ms`, median(samples).toFixed(1)])),
        ratio: (now / before).toFixed(2),
      },
    ]);
  } finally {
    await close();
  }
}

runBench(main);
