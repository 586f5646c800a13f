import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `devices_keep_newest_release` (migration 1764510000000) ran for every row a statement gave a
 * desired release, a plpgsql call and a query each: a quarter of a fleet target's assignment
 * statement (37 of 140 ms for 10,000 devices on a quiet server; 100 ms and more of the time before
 * the first device is told, with the devices' answers arriving, control-plane/bench/rollout.bench.ts).
 * On UPDATE it now fires only where it has work: the release changed and the statement did not
 * raise `newest_release_at` itself, as the batch assignments do with one read of the release's age
 * for all their rows (devices/device-assignment.repository.ts). One that leaves it where it was (a
 * rollback to an older release) still fires it, which leaves it there too. An unchanged release
 * needs nothing: its age is already in `newest_release_at`. Inserts keep it as before.
 */
export class NewestReleaseByStatement1765260000000 implements MigrationInterface {
  name = 'NewestReleaseByStatement1765260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER devices_keep_newest_release ON devices');
    await q.query(`CREATE TRIGGER devices_keep_newest_release_insert BEFORE INSERT ON devices
      FOR EACH ROW WHEN (NEW.desired_release_id IS NOT NULL) EXECUTE FUNCTION devices_keep_newest_release()`);
    await q.query(`CREATE TRIGGER devices_keep_newest_release BEFORE UPDATE OF desired_release_id ON devices
      FOR EACH ROW WHEN (NEW.desired_release_id IS DISTINCT FROM OLD.desired_release_id
                         AND NEW.newest_release_at IS NOT DISTINCT FROM OLD.newest_release_at)
      EXECUTE FUNCTION devices_keep_newest_release()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER devices_keep_newest_release ON devices');
    await q.query('DROP TRIGGER devices_keep_newest_release_insert ON devices');
    await q.query(`CREATE TRIGGER devices_keep_newest_release BEFORE INSERT OR UPDATE OF desired_release_id ON devices
      FOR EACH ROW EXECUTE FUNCTION devices_keep_newest_release()`);
  }
}
