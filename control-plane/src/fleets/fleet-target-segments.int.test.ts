import type { FleetTargetJobView, FleetView, ReleaseView, SetFleetTargetResponse } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { unitOfWork } from '../database/unit-of-work';
import { DeviceAssignmentRepository } from '../devices/device-assignment.repository';
import { startHarness, type Harness } from '../testing/harness';
import { LockingSession } from '../testing/locking-session';
import { apiClient, json, publishRelease, until, type Api } from '../testing/sim-fleet';

/**
 * A fleet target's assignment in segments, against a real PostgreSQL: the job writes its fleet's
 * first 128 devices, then the rest, each segment its own transaction, and records them in id
 * order; a segment starts after the last device of the one before it, so a device is assigned
 * once by a job whatever happens to it meanwhile; a row that changed under a segment's lock is
 * passed over for the next, so a segment comes back short only at the fleet's end.
 */
jest.setTimeout(60_000);

let h: Harness;
let api: Api;
let older: ReleaseView;
let newer: ReleaseView;

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
  older = await publishRelease(api, '1.0.0');
  newer = await publishRelease(api, '2.0.0');
});
afterAll(() => h?.close());

/** A fleet of `count` devices on `older`, written straight to the table (none connects: nothing else writes their rows). */
async function fleetOf(name: string, count: number): Promise<{ fleet: FleetView; ids: string[] }> {
  const fleet = await json<FleetView>(api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name }) }), 201);
  const ids = Array.from({ length: count }, (_, i) => `${name}-${String(i).padStart(4, '0')}`);
  await h.db.query(
    `INSERT INTO devices (id, name, password_hash, fleet_id, desired_release_id, desired_rev, tags, config)
     SELECT id, id, 'x', $2, $3, 1, '{}', '{}' FROM unnest($1::text[]) id`,
    [ids, fleet.id, older.id],
  );
  return { fleet, ids };
}

/** The job's view once it completed. */
const completed = (jobId: string) =>
  until(
    async () => {
      const view = await json<FleetTargetJobView>(api(`/api/v1/fleet-target-jobs/${jobId}`), 200);
      return view.status === 'completed' ? view : undefined;
    },
    30_000,
    `job ${jobId} completed`,
  );

it('assigns 300 devices in two transactions of 128 and 172, records them in id order, publishes them, and completes', async () => {
  const { fleet, ids } = await fleetOf('seg', 300);
  const { job } = await json<SetFleetTargetResponse>(
    api(`/api/v1/fleets/${fleet.id}/target`, { method: 'PUT', body: JSON.stringify({ releaseId: newer.id }) }),
    202,
  );
  const done = await completed(job.id);
  expect(done).toMatchObject({ assigned: 300, published: 300 });
  const [row] = await h.db.query<{ device_ids: string[]; assigned_all: boolean }>(
    'SELECT device_ids, assigned_all FROM fleet_target_jobs WHERE id = $1',
    [job.id],
  );
  expect(row).toEqual({ device_ids: ids, assigned_all: true });
  // Each segment's rows carry the id of the transaction that wrote them.
  const segments = await h.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM devices WHERE fleet_id = $1 AND desired_release_id = $2 AND desired_rev = 2
      GROUP BY xmin::text ORDER BY min(id COLLATE "C")`,
    [fleet.id, newer.id],
  );
  expect(segments.map((s) => s.n)).toEqual([128, 172]);
});

it('a job left after its first segment resumes after its last device: the devices assigned are published, the rest assigned once, none twice', async () => {
  const { fleet, ids } = await fleetOf('resume', 300);
  // What a control plane that stopped after the first segment's commit leaves: 128 devices
  // assigned and recorded, none published, the lease let go.
  const first = ids.slice(0, 128);
  await h.db.query(`UPDATE fleets SET target_release_id = $2 WHERE id = $1`, [fleet.id, newer.id]);
  await h.db.query(`UPDATE devices SET desired_release_id = $2, desired_rev = desired_rev + 1 WHERE id = ANY($1)`, [first, newer.id]);
  // One of them moved back meanwhile (as a rollback by someone else would): the resumed job starts after the last one recorded.
  await h.db.query(`UPDATE devices SET desired_release_id = $2 WHERE id = $1`, [first[5], older.id]);
  const [{ id }] = await h.db.query<{ id: string }>(
    `INSERT INTO fleet_target_jobs (id, fleet_id, release_id, status, device_ids, assigned_all)
     VALUES (gen_random_uuid(), $1, $2, 'running', $3, false) RETURNING id`,
    [fleet.id, newer.id, first],
  );
  // Picked up by the control plane's look for unclaimed jobs (every 5 s).
  const done = await completed(id);
  expect(done).toMatchObject({ assigned: 300, published: 300 });
  expect(
    await h.db.query(
      `SELECT desired_release_id = $2 AS target, desired_rev, count(*)::int AS n FROM devices WHERE fleet_id = $1 GROUP BY 1, 2 ORDER BY 1`,
      [fleet.id, newer.id],
    ),
  ).toEqual([
    { target: false, desired_rev: 2, n: 1 },
    { target: true, desired_rev: 2, n: 299 },
  ]);
});

describe('a segment', () => {
  const segment = (fleetId: string, after: string | null, limit: number) =>
    h.cp.app
      .get(DataSource)
      .transaction((tx) =>
        h.cp.app.get(DeviceAssignmentRepository).assignFleetTargetSegment(unitOfWork(tx), fleetId, newer.id, after, limit),
      );

  it('starts after the last device of the one before: a device moved back meanwhile is not assigned again', async () => {
    const { fleet, ids } = await fleetOf('cursor', 5);
    expect(await segment(fleet.id, null, 2)).toEqual({ ids: ids.slice(0, 2), more: true });
    // As a rollback by someone else would: the first device is pending again.
    await h.db.query('UPDATE devices SET desired_release_id = $2 WHERE id = $1', [ids[0], older.id]);
    expect(await segment(fleet.id, ids[1]!, 2)).toEqual({ ids: ids.slice(2, 4), more: true });
    expect(await segment(fleet.id, ids[3]!, 2)).toEqual({ ids: ids.slice(4), more: false });
  });

  it('a row that no longer matches once its lock is granted is passed over for the next: the segment is still full', async () => {
    const { fleet, ids } = await fleetOf('passed', 4);
    const blocker = await LockingSession.open(h.db.url);
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM devices WHERE id = $1 FOR UPDATE', [ids[0]]);
      const first = segment(fleet.id, null, 2);
      await blocker.waitersOn('SET desired_release_id = $2, desired_rev', 1, 10_000);
      // Meanwhile another writer gives the first device the target: no longer pending.
      await blocker.query('UPDATE devices SET desired_release_id = $2 WHERE id = $1', [ids[0], newer.id]);
      await blocker.query('COMMIT');
      expect(await first).toEqual({ ids: ids.slice(1, 3), more: true });
    } finally {
      await blocker.end();
    }
    expect(await segment(fleet.id, ids[2]!, 2)).toEqual({ ids: ids.slice(3), more: false });
  });
});
