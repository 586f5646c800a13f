import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '../../control-plane/src/testing/harness';
import { deviceReadRoutes, FLEET_READ_ROUTES, readOk } from '../support/read-routes';
import { oddText } from '../support/schema-leaves';

/**
 * Reads can't be poisoned (issue 13): the extreme value of every column a device's data lands in
 * is written straight into PostgreSQL (where the API or the protocol would refuse it, as an older
 * version or a hand edit may have left it), next to a sane device; then every list, overview and
 * detail route must answer 200 with a body that parses, and the sane device must still be in it.
 */
let h: Harness;
const release = randomUUID();
const rollout = randomUUID();
const LONG = oddText(100_000);
/** Ends of `timestamptz`, both outside what a JavaScript Date holds. */
const TS_MAX = '294276-12-31 23:59:59+00';
const TS_MIN = '4713-01-01 00:00:00+00 BC';

/** A reported document per odd shape; every one must be survivable. */
const REPORTS = {
  huge: {
    schema: 1,
    at: 'not a time',
    agentVersion: LONG,
    rev: 1e300,
    update: { phase: 'no-such-phase', active: { releaseId: 'not-a-uuid', rev: -1 }, failedRev: 1e30, lastFailure: LONG },
    components: [{ name: LONG, state: 'weird', restartCount: 1e20 }],
    os: { version: 5, slot: 'Z', progress: { percent: 1e9 } },
  },
  fractionalRev: { update: { phase: 'rollback', failedRev: 1.5 } },
  textRev: { update: { phase: 'idle', failedRev: 'seven', active: 'x' } },
  array: [1, 2, 3],
  string: 'reported',
  jsonNull: null,
  empty: {},
};

beforeAll(async () => {
  h = await startHarness();
  const sane = await h.registerDevice('sane');
  const q = h.db.query.bind(h.db);
  await q(
    `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, $2, $2, 'sha256:' || repeat('0', 64), $2, '{}')`,
    [release, oddText(10_000)],
  );
  const ids = Object.keys(REPORTS).map((k) => `dev_poison_${k}`);
  for (const [i, [key, reported]] of Object.entries(REPORTS).entries()) {
    await q(
      `INSERT INTO devices (id, name, board, password_hash, online, last_seen_at, desired_rev, reported, reported_at, inventory, inventory_at, created_at, tags, config)
       VALUES ($1, $2, $2, 'x', $3, $4, 2147483647, $5::jsonb, $4, $6::jsonb, $7, $7, $8, $9::jsonb)`,
      [
        `dev_poison_${key}`,
        LONG,
        i % 2 === 0,
        [TS_MAX, TS_MIN, 'infinity', '-infinity'][i % 4],
        JSON.stringify(reported),
        JSON.stringify(i === 0 ? { arch: 7, memory: { totalBytes: 1e300 }, disks: 'none', cpu: null } : reported),
        i % 2 === 0 ? TS_MIN : TS_MAX,
        [LONG, '', oddText(64)],
        JSON.stringify(i === 0 ? { key: 5, nested: { a: [1] } } : { [oddText(300)]: LONG }),
      ],
    );
  }
  for (const id of ids) {
    await q(
      `INSERT INTO device_events (device_id, at, kind, rev, message) VALUES
         ($1, $2, $3, 2147483647, $3), ($1, $4, 'apply-failed', -2147483648, ''), ($1, now(), $3, NULL, $3)`,
      [id, TS_MAX, LONG, TS_MIN],
    );
    await q(
      `INSERT INTO telemetry_samples (device_id, at, cpu_percent, mem_used_bytes, mem_total_bytes, temperature_c) VALUES
         ($1, now() - interval '1 minute', 'Infinity', 9223372036854775807, -9223372036854775808, 'NaN'),
         ($1, now() - interval '30 seconds', -1e308, 0, 9223372036854775807, NULL),
         ($1, $2, 1e308, 1, 1, '-Infinity'), ($1, $3, 0, 0, 0, 0)`,
      [id, TS_MAX, TS_MIN],
    );
  }
  await q(
    `INSERT INTO rollouts (id, name, release_id, selection, phases, status, status_reason, advance, current_phase, device_timeout_ms,
                           request_digest, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, $6::jsonb, 'running', $2, 'auto', 0, 2147483647, 'x', $2, $5, $5)`,
    // Phases and the current phase are the engine's own, kept valid; the rest at its extremes.
    [
      rollout,
      LONG,
      release,
      JSON.stringify({ deviceIds: [...ids, sane.deviceId] }),
      TS_MAX,
      JSON.stringify([{ percent: 100, successThreshold: 100, failureThreshold: 0, onFailure: 'pause' }]),
    ],
  );
  await q(
    `INSERT INTO rollout_devices (rollout_id, device_id, phase, state, assigned_rev, assigned_at, finished_at, reason, accepted_by, accepted_at)
     SELECT $1, id, 0, 'failed', 2147483647, $2, $3, $4, $4, $2 FROM unnest($5::text[]) AS id`,
    [rollout, TS_MAX, TS_MIN, LONG, [...ids, sane.deviceId]],
  );
}, 60_000);
afterAll(() => h?.close());

const read = (path: string) => readOk((p) => h.api(p), path);

const deviceIds = [...Object.keys(REPORTS).map((k) => `dev_poison_${k}`)];

it.each(FLEET_READ_ROUTES)('GET %s answers 200 with a well-formed body', async (path) => {
  await read(path);
});

it('the sane device is listed beside the poisoned ones, on every page', async () => {
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = (await read(`/api/v1/devices?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)) as {
      items: { id: string; name: string }[];
      nextCursor: string | null;
    };
    seen.push(...page.items.map((d) => d.id));
    cursor = page.nextCursor;
  } while (cursor);
  expect(seen).toEqual(expect.arrayContaining([...deviceIds]));
  expect(seen).toHaveLength(deviceIds.length + 1);
  const dash = (await read('/api/v1/dashboard/devices?limit=100')) as { items: { name: string }[] };
  expect(dash.items.map((d) => d.name)).toContain('sane');
});

it.each(deviceIds)('every per-device route of %s answers 200', async (id) => {
  for (const path of deviceReadRoutes(id)) await read(path);
});

it('the rollout with poisoned devices reads', async () => {
  await read(`/api/v1/rollouts/${rollout}`);
  await read(`/api/v1/rollouts/${rollout}/devices`);
  await read(`/api/v1/releases/${release}`);
});
