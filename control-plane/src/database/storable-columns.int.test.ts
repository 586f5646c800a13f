import { CHANNEL_SCHEMAS, storableTimestamp, type DeviceChannel } from '@flotilla/shared';
import { DataSource } from 'typeorm';
import { extremeInstance, leaves, withValue, type Leaf } from '../../../test/support/schema-leaves';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { MIGRATIONS } from './database.module';

/**
 * The protocol's bounds (shared/src/protocol/storable.ts) against the columns the migrations
 * create: for every column a device message feeds, each schema field's limits are cast to the
 * column's type in PostgreSQL, and the type's own range is compared with the schema's. A column
 * added to a device-fed table without a flow here, or a schema bound wider than its column, fails.
 */
interface Flow {
  channel: DeviceChannel;
  /** The field feeding the column; `[]` for a whole message stored as jsonb. */
  field: string[];
}
const FLOWS: Record<string, Flow> = {
  'telemetry_samples.at': { channel: 'telemetry', field: ['samples', '0', 'at'] },
  'telemetry_samples.cpu_percent': { channel: 'telemetry', field: ['samples', '0', 'cpuPercent'] },
  'telemetry_samples.mem_used_bytes': { channel: 'telemetry', field: ['samples', '0', 'memUsedBytes'] },
  'telemetry_samples.mem_total_bytes': { channel: 'telemetry', field: ['samples', '0', 'memTotalBytes'] },
  'telemetry_samples.temperature_c': { channel: 'telemetry', field: ['samples', '0', 'temperatureC'] },
  'device_events.event_id': { channel: 'events', field: ['id'] },
  'device_events.at': { channel: 'events', field: ['at'] },
  'device_events.kind': { channel: 'events', field: ['kind'] },
  'device_events.rev': { channel: 'events', field: ['rev'] },
  'device_events.message': { channel: 'events', field: ['message'] },
  'devices.reported': { channel: 'reported', field: [] },
  'devices.inventory': { channel: 'inventory', field: [] },
};
/** Columns of those tables that no device message feeds (keys, or set by the control plane). */
const NOT_FROM_DEVICES = ['telemetry_samples.id', 'telemetry_samples.device_id', 'device_events.id', 'device_events.device_id'];

/** Integer ranges of PostgreSQL's integer types; a bigint must also read back exactly as a JS number. */
const INTEGER_RANGES: Record<string, [number, number]> = {
  smallint: [-32_768, 32_767],
  integer: [-2_147_483_648, 2_147_483_647],
  bigint: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

let db: TestDatabase;
let columns: Map<string, { type: string; maxLength: number | null }>;

beforeAll(async () => {
  db = await createTestDatabase();
  const ds = new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, migrationsTransactionMode: 'all' });
  await ds.initialize();
  await ds.runMigrations();
  await ds.destroy();
  const rows = await db.query<{ name: string; data_type: string; character_maximum_length: number | null }>(
    `SELECT table_name || '.' || column_name AS name, data_type, character_maximum_length
       FROM information_schema.columns WHERE table_schema = 'public'`,
  );
  columns = new Map(rows.map((r) => [r.name, { type: r.data_type, maxLength: r.character_maximum_length }]));
});
afterAll(() => db?.drop());

/** The leaves of a flow's field (one leaf for a scalar column, all of them for a jsonb document). */
function flowLeaves(flow: Flow): Leaf[] {
  const key = flow.field.join('.');
  return leaves(CHANNEL_SCHEMAS[flow.channel]).filter((l) => l.path.join('.') === key || (flow.field.length === 0 && l.path.length > 0));
}

/** Whether PostgreSQL takes `value` as a `type` (cast through a parameter, as the driver sends it). */
async function fits(value: unknown, type: string): Promise<boolean> {
  try {
    await db.query(`SELECT $1::${type}`, [value]);
    return true;
  } catch {
    return false;
  }
}

it('every column of the device-fed tables has a flow, and every flow a column', () => {
  const fed = [...columns.keys()].filter((c) => /^(telemetry_samples|device_events)\./.test(c));
  expect(fed.filter((c) => !(c in FLOWS) && !NOT_FROM_DEVICES.includes(c))).toEqual([]);
  expect(Object.keys(FLOWS).filter((c) => !columns.has(c))).toEqual([]);
});

/**
 * Every ISO 8601 instant the protocol accepts is one PostgreSQL stores exactly: the stored `at` of a
 * report is cast again by every later report (device-report.repository.ts), so an accepted value the
 * cast refuses freezes the device's reported state. Offsets of 16 h and more pass `Date.parse` and
 * zod's `datetime` but not `timestamptz`; finer than microseconds is rounded (past 9999 at the end).
 */
it('every timestamp the schema accepts casts to timestamptz, to the same instant', async () => {
  const edges = [
    '2026-06-01T12:00:00Z',
    '2026-06-01T12:00:00+15:59',
    '2026-06-01T12:00:00-15:59',
    '2026-06-01T12:00:00+16:00',
    '2026-06-01T12:00:00-16:00',
    '2026-06-01T12:00:00+23:59',
    '2026-06-01T12:00:00-23:59',
    '2026-06-01T12:00:00.123456+01:00',
    '2026-06-01T12:00:00.1234567Z',
    '9999-12-31T23:59:59.999999Z',
    '9999-12-31T23:59:59.9999999Z',
    '1970-01-01T00:00:00.0000001Z',
  ];
  const wrong: string[] = [];
  for (const v of edges) {
    if (!storableTimestamp().safeParse(v).success) continue;
    const same = await db
      .query<{ same: boolean }>(`SELECT to_char($1::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') = $2 AS same`, [
        v,
        new Date(Date.parse(v)).toISOString().slice(0, 23) + utcMicros(v),
      ])
      .then(
        ([r]) => r!.same,
        () => false,
      );
    if (!same) wrong.push(v);
  }
  expect(wrong).toEqual([]);
  // And the schema does refuse what the column refuses or rounds.
  for (const v of ['2026-06-01T12:00:00+16:00', '2026-06-01T12:00:00-23:59', '9999-12-31T23:59:59.9999999Z']) {
    expect(storableTimestamp().safeParse(v).success).toBe(false);
  }
  expect(await fits('2026-06-01T12:00:00+16:00', 'timestamptz')).toBe(false);
  expect(await fits('2026-06-01T12:00:00+15:59', 'timestamptz')).toBe(true);
});

/** The digits after the milliseconds of `v`'s fraction, to six places ("000" when it has none). */
function utcMicros(v: string): string {
  const fraction = /\.(\d+)/.exec(v)?.[1] ?? '';
  return fraction.padEnd(6, '0').slice(3, 6);
}

describe.each(Object.entries(FLOWS))('%s', (column, flow) => {
  it('holds every value the schema accepts, at both limits', async () => {
    const { type, maxLength } = columns.get(column)!;
    const fieldLeaves = flowLeaves(flow);
    expect(fieldLeaves.length).toBeGreaterThan(0);
    if (type === 'jsonb') {
      // A whole message: the extreme instances must be storable as they are.
      for (const end of ['max', 'min'] as const)
        expect(await fits(JSON.stringify(extremeInstance(CHANNEL_SCHEMAS[flow.channel], end)), 'jsonb')).toBe(true);
      // And each string field past its limits (NUL, a lone surrogate) must be what the schema refuses,
      // because jsonb refuses it: proven on the column type itself.
      const base = extremeInstance(CHANNEL_SCHEMAS[flow.channel], 'max');
      for (const leaf of fieldLeaves.filter((l) => l.kind === 'string')) {
        expect(await fits(JSON.stringify(withValue(base, leaf.path, 'a\u0000b')), 'jsonb')).toBe(false);
        expect(await fits(JSON.stringify(withValue(base, leaf.path, 'a\uD800b')), 'jsonb')).toBe(false);
      }
      return;
    }
    const [leaf] = fieldLeaves;
    const pgType = maxLength === null ? type : `varchar(${maxLength})`;
    if (leaf!.kind === 'number') {
      const range = INTEGER_RANGES[type];
      if (range) {
        expect(leaf!.min).toBeGreaterThanOrEqual(range[0]);
        expect(leaf!.max).toBeLessThanOrEqual(range[1]);
      }
      // Fractions allowed by the schema are rounded where the column is an integer type.
      for (const v of [leaf!.min, leaf!.max]) expect(await fits(range ? Math.round(v) : v, pgType)).toBe(true);
    } else if (leaf!.kind === 'string') {
      if (maxLength !== null) expect(leaf!.maxLength).toBeLessThanOrEqual(maxLength);
      if (leaf!.timestamp) {
        for (const v of ['1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) expect(await fits(v, pgType)).toBe(true);
        // What a bare ISO 8601 check accepts but the column does not: why the schema bounds the year.
        expect(await fits('0000-01-01T00:00:00Z', pgType)).toBe(false);
      } else {
        expect(await fits(fieldOf(extremeInstance(CHANNEL_SCHEMAS[flow.channel], 'max'), flow.field), pgType)).toBe(true);
        // NUL is what this column refuses; the schema refuses it too (storable.test.ts, past every limit).
        expect(await fits('a\u0000b', pgType)).toBe(false);
      }
    } else {
      // An enum: every value is a short storable word.
      expect(await fits(fieldOf(extremeInstance(CHANNEL_SCHEMAS[flow.channel], 'max'), flow.field), pgType)).toBe(true);
    }
  });
});

function fieldOf(value: unknown, path: string[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);
}
