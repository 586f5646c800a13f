import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fleets, and what a device carries beyond its identity: fleet, tags, a pinned release,
 * configuration overrides, decommissioning. Tokens become fleet-scoped and revocable;
 * releases carry their signature and who published them.
 */
export class Fleets1764288000000 implements MigrationInterface {
  name = 'Fleets1764288000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fleets (
        id                uuid PRIMARY KEY,
        name              text NOT NULL UNIQUE,
        target_release_id uuid REFERENCES releases (id) ON DELETE RESTRICT,
        boards            text[] NOT NULL DEFAULT '{}',
        config            jsonb NOT NULL DEFAULT '{}',
        created_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE devices ADD COLUMN fleet_id uuid REFERENCES fleets (id) ON DELETE RESTRICT`);
    await q.query(`ALTER TABLE devices ADD COLUMN tags text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE devices ADD COLUMN pinned_release_id uuid REFERENCES releases (id) ON DELETE RESTRICT`);
    await q.query(`ALTER TABLE devices ADD COLUMN config jsonb NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE devices ADD COLUMN decommissioned_at timestamptz`);
    await q.query(`CREATE INDEX devices_fleet_idx ON devices (fleet_id)`);
    // GIN so rollouts and the device list can select by tag at fleet scale.
    await q.query(`CREATE INDEX devices_tags_idx ON devices USING gin (tags)`);
    await q.query(`ALTER TABLE provisioning_tokens ADD COLUMN fleet_id uuid REFERENCES fleets (id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE provisioning_tokens ADD COLUMN revoked_at timestamptz`);
    await q.query(`ALTER TABLE releases ADD COLUMN signature jsonb`);
    await q.query(`ALTER TABLE releases ADD COLUMN created_by text NOT NULL DEFAULT 'operator'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE releases DROP COLUMN created_by`);
    await q.query(`ALTER TABLE releases DROP COLUMN signature`);
    await q.query(`ALTER TABLE provisioning_tokens DROP COLUMN revoked_at`);
    await q.query(`ALTER TABLE provisioning_tokens DROP COLUMN fleet_id`);
    await q.query(
      `ALTER TABLE devices DROP COLUMN decommissioned_at, DROP COLUMN config, DROP COLUMN pinned_release_id, DROP COLUMN tags, DROP COLUMN fleet_id`,
    );
    await q.query(`DROP TABLE fleets`);
  }
}
