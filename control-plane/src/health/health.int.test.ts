import { Client } from 'pg';
import { eventually, startHarness, type Harness } from '../testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

async function health(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await h.api('/healthz', { auth: false });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('health', () => {
  it('reports the database and the broker, and no fleet figures: those are on /metrics, behind a key', async () => {
    const device = await h.registerDevice();
    await h.connectDevice(device);
    await eventually(async () => (await h.metric('flotilla_devices_online')) === 1, 5000, 'one device online');
    expect(await health()).toEqual({ status: 200, body: { status: 'ok', database: 'up', broker: 'up' } });
    expect((await h.api('/metrics', { auth: false })).status).toBe(401);
  });

  it('answers 503 while PostgreSQL refuses connections, and recovers', async () => {
    const { name } = h.db;
    await h.db.admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await h.db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    try {
      // A probe's answer is reused for a second (PROBE_REUSE_MS): the next one sees the refusal.
      let down = await health();
      await eventually(async () => (down = await health()).status === 503, 5000, 'degraded');
      expect(down).toEqual({
        status: 503,
        body: { status: 'degraded', database: 'down', broker: 'up' },
      });
    } finally {
      await h.db.admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    await eventually(async () => (await health()).status === 200, 5000, 'healthy again');
  });

  it('answers a flood of /readyz in time from one database check, and keeps the pool, while that check hangs', async () => {
    // A session holding the migrations table: the readiness check's read of it waits, as on a database that stalls.
    const lock = new Client({ connectionString: h.db.url });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE migrations IN ACCESS EXCLUSIVE MODE');
      const probes = await Promise.all(
        Array.from({ length: 30 }, () => h.api('/readyz', { auth: false, signal: AbortSignal.timeout(8_000) })),
      );
      for (const res of probes) {
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ ready: false, database: 'up', migrations: 'unknown', broker: 'up' });
      }
      const waiting = await h.db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND wait_event = 'relation'`,
        [h.db.name],
      );
      expect(waiting).toEqual([{ n: 1 }]);
      // The rest of the pool serves the API meanwhile.
      expect((await h.api('/api/v1/devices', { signal: AbortSignal.timeout(8_000) })).status).toBe(200);
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    await eventually(async () => (await h.api('/readyz', { auth: false })).status === 200, 5000, 'ready again');
  });

  it('on close, disconnects devices and records them offline before the database closes', async () => {
    const device = await h.registerDevice();
    const client = await h.connectDevice(device);
    await eventually(
      async () => (await h.db.query('SELECT 1 FROM devices WHERE id = $1 AND online', [device.deviceId])).length === 1,
      5000,
      'online',
    );
    const disconnected = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await h.cp.close();
    await disconnected;
    expect(await h.db.query('SELECT count(*)::int AS n FROM devices WHERE online')).toEqual([{ n: 0 }]);
  });
});
