import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change of what a connect is decided from (a device created or deleted, its credential
 * replaced or revoked, its desired rev moved) is announced on the channel
 * `flotilla_device_directory` with the device id as payload, by the database itself, so that
 * every replica's in-memory directory (devices/device-directory.ts) hears of it whichever code
 * path made the change. Row triggers with a WHEN clause: last-seen, presence and report writes,
 * the hot paths, touch none of these columns and fire nothing. Sent at commit, in commit order.
 */
export class DeviceDirectoryNotify1765040000000 implements MigrationInterface {
  name = 'DeviceDirectoryNotify1765040000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION flotilla_device_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('flotilla_device_directory', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER devices_directory_insert_delete AFTER INSERT OR DELETE ON devices
      FOR EACH ROW EXECUTE FUNCTION flotilla_device_directory_changed()`);
    await q.query(`CREATE TRIGGER devices_directory_update AFTER UPDATE OF password_hash, desired_rev, decommissioned_at ON devices
      FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash
                      OR OLD.desired_rev IS DISTINCT FROM NEW.desired_rev
                      OR OLD.decommissioned_at IS DISTINCT FROM NEW.decommissioned_at)
      EXECUTE FUNCTION flotilla_device_directory_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER devices_directory_update ON devices');
    await q.query('DROP TRIGGER devices_directory_insert_delete ON devices');
    await q.query('DROP FUNCTION flotilla_device_directory_changed()');
  }
}
