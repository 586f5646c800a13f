import { randomUUID } from 'node:crypto';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { PROTOCOL_SCHEMA, deviceTopic, type DeviceEvent } from '@flotilla/shared';
import { DatabaseModule } from '../database/database.module';
import { eventually, startHarness, type Harness } from '../testing/harness';
import { startPgCutter, type PgCutter } from '../testing/pg-cutter';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { DeviceActivityRepository } from './device-activity.repository';
import { DeviceEventEntity } from './device-event.entity';

/**
 * Integration (real PostgreSQL; real MQTT for redelivery): a device's event is stored once,
 * whatever is sent or written again (issue 14). The batch writer talks to PostgreSQL through a
 * proxy that cuts the connection at an exact protocol message, before the INSERT runs or after it
 * committed; a device publishes the same event twice, as a QoS 1 resend or a broker redelivery to
 * another replica would hand it over.
 */
jest.setTimeout(60_000);

/** The batch INSERT's own text (not the one-row INSERT that tells a rejected write). */
const BATCH_INSERT = 'INSERT INTO device_events (device_id, event_id';
const devices = Array.from({ length: 20 }, (_, i) => `dev_${String(i).padStart(2, '0')}`);
const event = (message: string, id?: string): DeviceEvent => ({
  schema: PROTOCOL_SCHEMA,
  ...(id ? { id } : {}),
  at: new Date().toISOString(),
  kind: 'apply-started',
  message,
});

describe('an event batch whose connection is cut (PostgreSQL through a cutting proxy)', () => {
  let db: TestDatabase;
  let cutter: PgCutter;
  let app: INestApplicationContext;
  let activity: DeviceActivityRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    cutter = await startPgCutter(db.url);
    @Module({
      imports: [DatabaseModule.forRoot(cutter.url), TypeOrmModule.forFeature([DeviceEventEntity])],
      providers: [DeviceActivityRepository],
    })
    class EventsTestModule {}
    app = await NestFactory.createApplicationContext(EventsTestModule, { logger: ['error'] });
    activity = app.get(DeviceActivityRepository);
    await db.query(`INSERT INTO devices (id, name, password_hash) SELECT id, id, 'x' FROM unnest($1::text[]) AS id`, [devices]);
  });
  afterAll(async () => {
    await app?.close();
    await cutter?.close();
    await db?.drop();
  });
  beforeEach(() => db.query('DELETE FROM device_events'));

  /** 200 events in one batch, ten per device: half with the device's id, half without (older agents). */
  const batch = () =>
    Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        activity.appendEvent(devices[i % devices.length]!, event(`n-${i}`, i % 2 ? randomUUID() : undefined)),
      ),
    );
  const counts = async () =>
    (
      await db.query<{ rows: number; distinct: number }>(
        'SELECT count(*)::int AS rows, count(DISTINCT (device_id, message))::int AS distinct FROM device_events',
      )
    )[0]!;

  it('cut after the commit, before the reply: the retry finds its rows and stores none twice', async () => {
    const cut = cutter.arm('statement-reply', BATCH_INSERT);
    await Promise.all([batch(), cut]);
    expect(await counts()).toEqual({ rows: 200, distinct: 200 });
  });

  it('cut before the statement reached the server: the retry stores the whole batch, once', async () => {
    const cut = cutter.arm('statement', BATCH_INSERT);
    await Promise.all([batch(), cut]);
    expect(await counts()).toEqual({ rows: 200, distinct: 200 });
  });

  it('one row per device and id: a copy in the same batch is skipped, the same id of another device is its own event', async () => {
    const id = randomUUID();
    await Promise.all([
      activity.appendEvent('dev_00', event('first', id)),
      activity.appendEvent('dev_00', event('copy', id)),
      activity.appendEvent('dev_01', event('other device', id)),
    ]);
    const rows = await db.query<{ device_id: string; message: string }>('SELECT device_id, message FROM device_events ORDER BY device_id');
    expect(rows.map((r) => [r.device_id, r.message])).toEqual([
      ['dev_00', 'first'],
      ['dev_01', 'other device'],
    ]);
  });
});

describe('an event delivered twice (a real control plane and its MQTT broker)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is stored once when it carries an id; without one (an older agent) each copy is stored, as before', async () => {
    const d = await h.registerDevice();
    const client = await h.connectDevice(d);
    const publish = (e: DeviceEvent) => client.publishAsync(deviceTopic(d.deviceId, 'events'), JSON.stringify(e), { qos: 1 });
    const resent = event('resent', randomUUID());
    const old = event('old agent');
    for (const e of [resent, old, resent, old, event('barrier', randomUUID())]) await publish(e);
    // Handling is in order per device: once the barrier is stored, both copies of each were handled.
    const messages = async () =>
      (await h.db.query<{ message: string }>('SELECT message FROM device_events WHERE device_id = $1 ORDER BY id', [d.deviceId])).map(
        (r) => r.message,
      );
    await eventually(async () => (await messages()).includes('barrier'), 10_000, 'the barrier event');
    expect(await messages()).toEqual(['resent', 'old agent', 'old agent', 'barrier']);
  });
});
