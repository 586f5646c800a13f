import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Credentials for private registries, one row per registry host; the password only sealed (AES-256-GCM). */
export class RegistryCredentials1764400000000 implements MigrationInterface {
  name = 'RegistryCredentials1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE registry_credentials (
        registry        text PRIMARY KEY,
        username        text NOT NULL,
        password_sealed text NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        updated_by      text NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE registry_credentials');
  }
}
