import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Retention deletes by age across all devices; without this index it scans the whole table. */
export class TelemetryRetention1764350002000 implements MigrationInterface {
  name = 'TelemetryRetention1764350002000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX telemetry_samples_at_idx ON telemetry_samples (at)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX telemetry_samples_at_idx');
  }
}
