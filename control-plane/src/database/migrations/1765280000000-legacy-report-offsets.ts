import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Before bcae11e the protocol took a report's `at` with a UTC offset of 16 h or more, which
 * PostgreSQL's timestamptz cannot read; the first report of a device was stored uncast, and the
 * report write's comparison then failed on it for every later report. Such a stored `at` is
 * rewritten to the epoch: older than any report, so the device's next one replaces it, as the
 * write's per-row CASE did until this migration (control-plane/src/devices/device-report.repository.ts).
 */
export class LegacyReportOffsets1765280000000 implements MigrationInterface {
  name = 'LegacyReportOffsets1765280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE devices SET reported = jsonb_set(reported, '{at}', '"1970-01-01T00:00:00.000Z"')
                    WHERE reported->>'at' ~ '[+-](1[6-9]|2[0-9]):?[0-9]{2}$'`);
  }

  async down(): Promise<void> {
    // The offsets rewritten are not kept: nothing can read them, and the next report replaces the epoch.
  }
}
