import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DatabaseModule } from '../database/database.module';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { TelemetryIngest } from './telemetry-ingest';
import { TelemetryModule } from './telemetry.module';
import { TelemetryService } from './telemetry.service';

let db: TestDatabase;
let app: INestApplicationContext;

beforeAll(async () => {
  db = await createTestDatabase();
  @Module({ imports: [DatabaseModule.forRoot(db.url), TelemetryModule.forRoot({ flushMs: 60_000, maxBatch: 250, retentionDays: 7 })] })
  class TelemetryTestModule {}
  app = await NestFactory.createApplicationContext(TelemetryTestModule, { logger: ['error'] });
  await app.init();
  for (const id of ['dev_a', 'dev_b']) {
    await db.query(`INSERT INTO devices (id, name, password_hash) VALUES ($1, $1, 'x')`, [id]);
  }
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const sample = (at: Date, cpu: number) => ({
  at: at.toISOString(),
  cpuPercent: cpu,
  memUsedBytes: 1000 + cpu,
  memTotalBytes: 8000,
  temperatureC: 40 + cpu,
});

describe('telemetry (PostgreSQL)', () => {
  it('writes buffered samples in batches, one COPY per batch; a sample of an unknown device is dropped alone and counted', async () => {
    const ingest = app.get(TelemetryIngest);
    const base = Date.parse('2026-11-27T10:00:00Z');
    // 600 samples over 10 minutes, one a second; maxBatch 250 flushes twice on its own.
    for (let i = 0; i < 600; i += 100) {
      ingest.add('dev_a', {
        schema: 1,
        samples: Array.from({ length: 100 }, (_, j) => sample(new Date(base + (i + j) * 1000), (i + j) % 10)),
      });
    }
    ingest.add('dev_gone', { schema: 1, samples: [sample(new Date(base), 1)] });
    await ingest.flush();
    expect(await db.query(`SELECT count(*)::int AS n FROM telemetry_samples WHERE device_id = 'dev_a'`)).toEqual([{ n: 600 }]);
    // The foreign key refuses dev_gone's sample; bisection finds it and the other 600 are stored.
    expect(ingest.stats).toMatchObject({ received: 601, stored: 600, dropped: 1 });
    expect(ingest.stats.batches).toBeLessThanOrEqual(4);
  });

  it('answers the latest value and a range, raw or averaged per step', async () => {
    const telemetry = app.get(TelemetryService);
    const from = '2026-11-27T10:00:00Z';
    const to = '2026-11-27T10:10:00Z';
    const raw = await telemetry.series('dev_a', { from, to, limit: 5 });
    expect(raw.points).toHaveLength(5);
    expect(raw.points[0]).toEqual({
      at: '2026-11-27T10:00:00.000Z',
      cpuPercent: 0,
      memUsedBytes: 1000,
      memTotalBytes: 8000,
      temperatureC: 40,
      samples: 1,
    });
    expect(raw.latest).toMatchObject({ at: '2026-11-27T10:09:59.000Z', cpuPercent: 9 });
    const perMinute = await telemetry.series('dev_a', { from, to, step: 60, limit: 1000 });
    expect(perMinute.points).toHaveLength(10);
    expect(perMinute.points[0]).toEqual({
      at: '2026-11-27T10:00:00.000Z',
      cpuPercent: 4.5,
      memUsedBytes: 1004.5,
      memTotalBytes: 8000,
      temperatureC: 44.5,
      samples: 60,
    });
    await expect(telemetry.series('dev_nosuch', { limit: 10 })).rejects.toMatchObject({ code: 'device_not_found' });
    await expect(telemetry.series('dev_a', { from: to, to: from, limit: 10 })).rejects.toMatchObject({ code: 'invalid_query' });
  });
});
