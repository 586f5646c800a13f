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
  it('reports the database, the broker and how many devices are online', async () => {
    const device = await h.registerDevice();
    await h.connectDevice(device);
    await eventually(async () => (await health()).body.devicesOnline === 1, 5000, 'one device online');
    const view = await health();
    expect(view).toEqual({
      status: 200,
      body: { status: 'ok', database: 'up', broker: 'up', devicesOnline: 1, uplink: expect.objectContaining({ rejected: 0, failed: 0 }) },
    });
    // Whatever counters the broker edge keeps, nothing was dropped.
    expect(Object.values(view.body.uplink as Record<string, number>).every((n) => n === 0)).toBe(true);
  });

  it('answers 503 while PostgreSQL refuses connections, and recovers', async () => {
    const { name } = h.db;
    await h.db.admin(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await h.db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    try {
      const down = await health();
      expect(down).toEqual({
        status: 503,
        body: expect.objectContaining({ status: 'degraded', database: 'down', broker: 'up', devicesOnline: null }),
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
