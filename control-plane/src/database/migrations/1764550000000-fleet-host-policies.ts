import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The host-level powers (bind mounts, devices, capabilities) an admin allows a fleet's releases.
 * No row: nothing allowed. Existing fleets start without one; a release they already target
 * keeps running, and the policy is checked when a release is next assigned.
 */
export class FleetHostPolicies1764550000000 implements MigrationInterface {
  name = 'FleetHostPolicies1764550000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE fleet_host_policies (
      fleet_id uuid PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
      policy jsonb NOT NULL,
      updated_by text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE fleet_host_policies');
  }
}
