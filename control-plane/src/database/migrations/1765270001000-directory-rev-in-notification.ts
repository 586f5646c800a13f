import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A device's desired rev moved, and nothing else a connect is decided from: the announcement on
 * `flotilla_device_directory` (migration 1765040000000) names the new rev beside the id
 * (`<id> <rev>`), and every replica's directory takes it as it comes instead of reading the row
 * again. An assignment of 10,000 devices was followed by a read of all 10,000 rows on every
 * replica, in the middle of their fan-out (190 ms of PostgreSQL's time in one bench round,
 * control-plane/bench/rollout.bench.ts). Everything else (a device created or deleted, its
 * credential replaced or revoked) is still announced by id alone, and read again.
 */
export class DirectoryRevInNotification1765270001000 implements MigrationInterface {
  name = 'DirectoryRevInNotification1765270001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION flotilla_device_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND OLD.password_hash IS NOT DISTINCT FROM NEW.password_hash
           AND OLD.decommissioned_at IS NOT DISTINCT FROM NEW.decommissioned_at THEN
          PERFORM pg_notify('flotilla_device_directory', NEW.id || ' ' || NEW.desired_rev);
        ELSE
          PERFORM pg_notify('flotilla_device_directory', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
        END IF;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION flotilla_device_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('flotilla_device_directory', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
        RETURN NULL;
      END $$`);
  }
}
