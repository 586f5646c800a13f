import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who may receive which registry secret. A stored login reaches only devices of fleets an admin
 * granted it to, and of those only devices registered with a provisioning token an admin made
 * (a device an operator registered could be the operator's own laptop). Registries marked
 * token-issued get short-lived pull tokens instead of a stored login.
 *
 * Existing logins start with no grant: after this migration no device receives one until an
 * admin grants it to fleets (README, "Private registries"). Existing devices and tokens count as
 * not admin-made, since nobody recorded who made them.
 */
export class RegistryAccess1764520000000 implements MigrationInterface {
  name = 'RegistryAccess1764520000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_credential_grants (
        registry   text NOT NULL REFERENCES registry_credentials (registry) ON DELETE CASCADE,
        fleet_id   uuid NOT NULL REFERENCES fleets (id) ON DELETE CASCADE,
        granted_at timestamptz NOT NULL DEFAULT now(),
        granted_by text NOT NULL,
        PRIMARY KEY (registry, fleet_id)
      )`);
    await q.query('CREATE INDEX registry_credential_grants_fleet_idx ON registry_credential_grants (fleet_id)');
    await q.query(`
      CREATE TABLE registry_token_auth (
        registry    text PRIMARY KEY,
        service     text NOT NULL,
        ttl_seconds integer NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        updated_by  text NOT NULL
      )`);
    await q.query('ALTER TABLE provisioning_tokens ADD COLUMN created_by_admin boolean NOT NULL DEFAULT false');
    await q.query('ALTER TABLE devices ADD COLUMN registered_by_admin boolean NOT NULL DEFAULT false');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices DROP COLUMN registered_by_admin');
    await q.query('ALTER TABLE provisioning_tokens DROP COLUMN created_by_admin');
    await q.query('DROP TABLE registry_token_auth');
    await q.query('DROP TABLE registry_credential_grants');
  }
}
