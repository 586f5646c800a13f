import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Presence with several replicas (issue 14): `devices.online_via` names the replica whose embedded
 * broker holds the device's connection (NULL when an external broker owns presence), and
 * `replica_heartbeats` tells which replicas are alive, so that one replica's start or death marks
 * offline only the devices it held, never those connected through another.
 */
export class PresenceOwners1765050000000 implements MigrationInterface {
  name = 'PresenceOwners1765050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices ADD COLUMN online_via text');
    await q.query('CREATE TABLE replica_heartbeats (replica text PRIMARY KEY, seen_at timestamptz NOT NULL DEFAULT now())');
    // The sweep looks only at online devices that a replica holds.
    await q.query('CREATE INDEX devices_online_via ON devices (online_via) WHERE online');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX devices_online_via');
    await q.query('DROP TABLE replica_heartbeats');
    await q.query('ALTER TABLE devices DROP COLUMN online_via');
  }
}
