import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FleetTargetJobView } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { managerOf, unitOfWork, type UnitOfWork } from '../database/unit-of-work';

export interface FleetTargetJob {
  view: FleetTargetJobView;
  /** The devices assigned so far, segment after segment, in id order; null until the first segment committed. */
  deviceIds: string[] | null;
  /** The last segment committed: every device the target had to reach is in `deviceIds`. */
  assignedAll: boolean;
}

/** Where a job's next segment of devices starts. */
export interface SegmentStart {
  fleetId: string;
  releaseId: string;
  /** The last device the job assigned (null: none yet); the segment takes devices after it, in id order. */
  after: string | null;
}

interface ViewRow {
  id: string;
  fleet_id: string;
  release_id: string;
  status: FleetTargetJobView['status'];
  /** The devices assigned so far; null until the first segment committed. */
  assigned: number | null;
  published: number;
  created_at: Date;
  finished_at: Date | null;
}

interface Row extends Omit<ViewRow, 'assigned'> {
  device_ids: string[] | null;
  assigned_all: boolean;
}

/**
 * A job as its views show it: the count of its devices, not the devices (10,000 ids for a large
 * fleet, read on every poll of a running job's progress).
 */
const VIEW_COLUMNS = 'id, fleet_id, release_id, status, cardinality(device_ids) AS assigned, published, created_at, finished_at';

/** A lease outlives one publish batch by far; a replica that died holding one is replaced after it. */
const LEASE_SECONDS = 30;

/** The only code that reads or writes `fleet_target_jobs` (and, for its one statement, a fleet's target). */
@Injectable()
export class FleetTargetJobRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Sets the fleet's target, supersedes its running jobs and records the new job, in one
   * statement: the target never changes without a job to carry it out. Undefined when the fleet is
   * gone. Inside `uow`, where the release was checked against the fleet's host policy.
   */
  async createForTarget(uow: UnitOfWork, id: string, fleetId: string, releaseId: string): Promise<FleetTargetJob | undefined> {
    const rows: Row[] = await managerOf(uow).query(
      `WITH f AS (UPDATE fleets SET target_release_id = $3 WHERE id = $2 RETURNING id),
            old AS (UPDATE fleet_target_jobs SET status = 'superseded', finished_at = now(), lease_until = NULL
                     WHERE fleet_id IN (SELECT id FROM f) AND status = 'running')
       INSERT INTO fleet_target_jobs (id, fleet_id, release_id, status) SELECT $1, f.id, $3, 'running' FROM f RETURNING *`,
      [id, fleetId, releaseId],
    );
    return rows[0] && toJob(rows[0]);
  }

  async findView(id: string): Promise<FleetTargetJobView | undefined> {
    const rows: ViewRow[] = await this.db.query(`SELECT ${VIEW_COLUMNS} FROM fleet_target_jobs WHERE id = $1`, [id]);
    return rows[0] && toView(rows[0]);
  }

  /** The fleet's newest job, for the fleet's view. */
  async latestOfFleet(fleetId: string): Promise<FleetTargetJobView | undefined> {
    const rows: ViewRow[] = await this.db.query(
      `SELECT ${VIEW_COLUMNS} FROM fleet_target_jobs WHERE fleet_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [fleetId],
    );
    return rows[0] && toView(rows[0]);
  }

  /** Running jobs no replica holds (never leased, released at a shutdown, or expired with a replica that died). */
  async unclaimed(): Promise<string[]> {
    const rows: { id: string }[] = await this.db.query(
      `SELECT id FROM fleet_target_jobs WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now()) ORDER BY created_at`,
    );
    return rows.map((r) => r.id);
  }

  /** Takes or renews the job's lease for `owner`; undefined when another replica holds it or the job is over. */
  async claim(id: string, owner: string): Promise<FleetTargetJob | undefined> {
    const [rows] = (await this.db.query(
      `UPDATE fleet_target_jobs SET lease_owner = $2, lease_until = now() + make_interval(secs => $3)
        WHERE id = $1 AND status = 'running' AND (lease_until IS NULL OR lease_until < now() OR lease_owner = $2) RETURNING *`,
      [id, owner, LEASE_SECONDS],
    )) as [Row[], number];
    return rows[0] && toJob(rows[0]);
  }

  async release(owner: string): Promise<void> {
    await this.db.query(`UPDATE fleet_target_jobs SET lease_until = NULL WHERE lease_owner = $1 AND status = 'running'`, [owner]);
  }

  /**
   * Runs `assign` for the job's next segment in one transaction with the job's record of it (its
   * devices appended to `device_ids`, and whether it was the last), while the job still runs, is
   * not assigned whole, and its release is still the fleet's target (else the job is superseded
   * and `assign` does not run): a restart never assigns a segment twice, nor an outdated target.
   * Renews `owner`'s lease in the statement that records the ids, and answers them: the
   * publishing that follows needs no read of the job again (undefined: superseded, nothing assigned).
   */
  async assignSegment(
    id: string,
    owner: string,
    assign: (uow: UnitOfWork, start: SegmentStart) => Promise<{ ids: string[]; more: boolean }>,
  ): Promise<{ ids: string[]; last: boolean } | undefined> {
    return this.db.transaction(async (tx) => {
      // The last device recorded, not the whole list: where the segment starts.
      const rows: { fleet_id: string; release_id: string; after: string | null }[] = await tx.query(
        `SELECT j.fleet_id, j.release_id, j.device_ids[cardinality(j.device_ids)] AS after
           FROM fleet_target_jobs j JOIN fleets f ON f.id = j.fleet_id
          WHERE j.id = $1 AND j.status = 'running' AND NOT j.assigned_all AND f.target_release_id = j.release_id
          FOR UPDATE OF j`,
        [id],
      );
      const job = rows[0];
      if (!job) {
        await tx.query(
          `UPDATE fleet_target_jobs SET status = 'superseded', finished_at = now() WHERE id = $1 AND status = 'running' AND NOT assigned_all`,
          [id],
        );
        return undefined;
      }
      const { ids, more } = await assign(unitOfWork(tx), { fleetId: job.fleet_id, releaseId: job.release_id, after: job.after });
      await tx.query(
        `UPDATE fleet_target_jobs SET device_ids = COALESCE(device_ids, '{}') || $2::text[], assigned_all = $3,
           lease_owner = $4, lease_until = now() + make_interval(secs => $5) WHERE id = $1`,
        [id, ids, !more, owner, LEASE_SECONDS],
      );
      return { ids, last: !more };
    });
  }

  /** Records progress (and renews the lease); false when the job stopped running meanwhile (superseded). */
  async recordPublished(id: string, owner: string, published: number): Promise<boolean> {
    // An UPDATE answers [rows, count] through TypeORM.
    const [, count] = (await this.db.query(
      `UPDATE fleet_target_jobs SET published = $3, lease_until = now() + make_interval(secs => $4)
        WHERE id = $1 AND lease_owner = $2 AND status = 'running' RETURNING id`,
      [id, owner, published, LEASE_SECONDS],
    )) as [unknown[], number];
    return count > 0;
  }

  async complete(id: string, owner: string): Promise<void> {
    await this.db.query(
      `UPDATE fleet_target_jobs SET status = 'completed', finished_at = now(), lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, owner],
    );
  }
}

function toJob(r: Row): FleetTargetJob {
  return { deviceIds: r.device_ids, assignedAll: r.assigned_all, view: toView({ ...r, assigned: r.device_ids?.length ?? null }) };
}

function toView(r: ViewRow): FleetTargetJobView {
  return {
    id: r.id,
    fleetId: r.fleet_id,
    releaseId: r.release_id,
    status: r.status,
    assigned: r.assigned,
    published: r.published,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}
