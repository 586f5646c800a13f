import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each rollout pass reads, per device of the rollout, its newest `update-rolled-back` event
 * (rollouts/rollout-selection.repository.ts `loadReports`). Through the index on (device_id, id)
 * that read visited every event the device has kept (up to `eventsPerDevice`, 10,000 by default)
 * to find the rolled-back ones among them, so a pass over a fleet cost more with every update
 * it had been through. This index holds only rolled-back events, newest rev first: one probe
 * per device, which finds nothing for a device that never rolled back. Other events add no
 * entry to it.
 */
export class RolledBackLookup1765250001000 implements MigrationInterface {
  name = 'RolledBackLookup1765250001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX device_events_rolled_back_idx ON device_events (device_id, rev DESC)
         WHERE kind = 'update-rolled-back' AND rev IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX device_events_rolled_back_idx');
  }
}
