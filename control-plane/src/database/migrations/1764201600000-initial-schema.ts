import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Devices, their registration tokens, releases, and what devices send back. */
export class InitialSchema1764201600000 implements MigrationInterface {
  name = 'InitialSchema1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE releases (
        id            uuid PRIMARY KEY,
        name          text NOT NULL,
        version       text NOT NULL,
        digest        text NOT NULL,
        manifest_yaml text NOT NULL,
        assembly      jsonb NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT releases_name_version_key UNIQUE (name, version)
      )`);
    await q.query(`
      CREATE TABLE devices (
        id                 text PRIMARY KEY,
        name               text NOT NULL,
        board              text,
        password_hash      text NOT NULL,
        online             boolean NOT NULL DEFAULT false,
        last_seen_at       timestamptz,
        desired_rev        integer NOT NULL DEFAULT 0 CHECK (desired_rev >= 0),
        desired_release_id uuid REFERENCES releases (id) ON DELETE RESTRICT,
        reported           jsonb,
        reported_at        timestamptz,
        inventory          jsonb,
        inventory_at       timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now()
      )`);
    // Partial index: few devices are online relative to the fleet's history, and health counts them often.
    await q.query(`CREATE INDEX devices_online_idx ON devices (id) WHERE online`);
    await q.query(`CREATE INDEX devices_desired_release_idx ON devices (desired_release_id)`);
    await q.query(`
      CREATE TABLE provisioning_tokens (
        id         uuid PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        max_uses   integer NOT NULL CHECK (max_uses > 0),
        uses       integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE device_events (
        id        bigserial PRIMARY KEY,
        device_id text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        at        timestamptz NOT NULL,
        kind      text NOT NULL,
        rev       integer,
        message   text NOT NULL
      )`);
    await q.query(`CREATE INDEX device_events_device_at_idx ON device_events (device_id, at DESC)`);
    await q.query(`
      CREATE TABLE telemetry_samples (
        id              bigserial PRIMARY KEY,
        device_id       text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        at              timestamptz NOT NULL,
        cpu_percent     double precision NOT NULL,
        mem_used_bytes  bigint NOT NULL,
        mem_total_bytes bigint NOT NULL,
        temperature_c   double precision
      )`);
    await q.query(`CREATE INDEX telemetry_samples_device_at_idx ON telemetry_samples (device_id, at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE telemetry_samples');
    await q.query('DROP TABLE device_events');
    await q.query('DROP TABLE provisioning_tokens');
    await q.query('DROP TABLE devices');
    await q.query('DROP TABLE releases');
  }
}
