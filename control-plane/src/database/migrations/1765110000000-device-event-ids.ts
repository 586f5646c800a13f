import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events stored once (issue 14): `event_id` is the id a device gives each event (or, for an agent
 * that gives none, the one the control plane gives it on receipt), and one row per device and id
 * is kept, so a copy sent again (a QoS 1 resend, a broker redelivery to another replica, a batch
 * retried after its commit reply was lost) is skipped by `ON CONFLICT DO NOTHING`.
 *
 * Per device: a device chooses its ids, so one cannot shadow another device's events. Partial
 * (`WHERE event_id IS NOT NULL`): rows written before hold no id and stay as they are.
 *
 * Cost on a big table: the column is nullable without a default, a change of the catalogue
 * only (no rewrite). The index is built by one sequential scan that finds no entry to add (every
 * existing row is NULL); writes to `device_events` wait for that scan (a SHARE lock), reads do
 * not. Measured on the test PostgreSQL with 2 million rows (560 MB with their indexes): 0.25 s in
 * all, the index 8 kB; `down` is catalogue-only too. (Not CONCURRENTLY: migrations run in one
 * transaction, `migrate-alone.ts`.) New rows all get an id, so the index then grows by about one
 * entry (device id and 16 bytes) per event, and costs each insert one more index probe. If
 * `device_events` is ever partitioned, the partition key has to join this unique index.
 */
export class DeviceEventIds1765110000000 implements MigrationInterface {
  name = 'DeviceEventIds1765110000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE device_events ADD COLUMN event_id uuid');
    await q.query('CREATE UNIQUE INDEX device_events_device_event_id ON device_events (device_id, event_id) WHERE event_id IS NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX device_events_device_event_id');
    await q.query('ALTER TABLE device_events DROP COLUMN event_id');
  }
}
