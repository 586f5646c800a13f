import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `devices.newest_release_at`: when the newest release ever assigned to the device was created.
 * A desired state pointing at an older release is signed with `rollback: true` (devices refuse an
 * older release without it). Kept by a trigger so that every statement assigning a release
 * (rollouts, pins, fleet targets, moves, registration) keeps it, present ones and future ones.
 */
export class ReleaseDowngrades1764510000000 implements MigrationInterface {
  name = 'ReleaseDowngrades1764510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices ADD COLUMN newest_release_at timestamptz');
    await q.query(`UPDATE devices d SET newest_release_at = r.created_at FROM releases r WHERE r.id = d.desired_release_id`);
    await q.query(`
      CREATE FUNCTION devices_keep_newest_release() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.desired_release_id IS NOT NULL THEN
          -- GREATEST ignores NULL: the first release sets it, later ones only raise it.
          NEW.newest_release_at := GREATEST(NEW.newest_release_at, (SELECT created_at FROM releases WHERE id = NEW.desired_release_id));
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER devices_keep_newest_release BEFORE INSERT OR UPDATE OF desired_release_id ON devices
        FOR EACH ROW EXECUTE FUNCTION devices_keep_newest_release()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER devices_keep_newest_release ON devices');
    await q.query('DROP FUNCTION devices_keep_newest_release()');
    await q.query('ALTER TABLE devices DROP COLUMN newest_release_at');
  }
}
