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
      const down = await health();
      expect(down).toEqual({
        status: 503,
        body: { status: 'degraded', database: 'down', broker: 'up' },
      });
    } finally {
      await h.db.admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    await eventually(async () => (await health()).status === 200, 5000, 'healthy again');
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
