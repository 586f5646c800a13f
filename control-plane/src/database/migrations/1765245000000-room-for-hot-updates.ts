import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Free space in each page of `devices` and `rollout_devices`, so that an update whose columns
 * no index covers stays on its page (a HOT update: no new entry in any index). A device's row is
 * rewritten several times per update it goes through (its reports: fetch, probation, committed;
 * presence and last-seen; the rollout's record of it), and `devices` has eleven indexes: with
 * full pages (the default fillfactor of 100) 77 % of those updates in a 10,000-device rollout
 * moved the row to another page and added an entry to every index, and PostgreSQL spent
 * two thirds as much CPU during the fan-out as the control plane itself, on the same cores; a
 * third less with this room (control-plane/bench/rollout.bench.ts). A devices row is about 1 KB (its last report), so
 * half a page holds a few rows and room for their next versions until pruning reclaims the old
 * ones; rollout_devices rows are small.
 *
 * Applies to pages written from now on (nothing is rewritten here, no lock beyond the ALTER's
 * brief one): a new installation at once, an existing one as rows move.
 */
export class RoomForHotUpdates1765245000000 implements MigrationInterface {
  name = 'RoomForHotUpdates1765245000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices SET (fillfactor = 50)');
    await q.query('ALTER TABLE rollout_devices SET (fillfactor = 70)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE devices RESET (fillfactor)');
    await q.query('ALTER TABLE rollout_devices RESET (fillfactor)');
  }
}
