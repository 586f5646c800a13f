import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import { eventually } from '../testing/harness';
import { apiClient, json, startSimFleet, type Api } from '../testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import type { SimDevice } from '../testing/sim-device';
import { SseFrames, type CreatedOperatorKey, type DashboardDevicePage, type DashboardOverview, type LiveEvent } from '@flotilla/shared';

jest.setTimeout(60_000);

const KEY = `events-int-${randomUUID()}`;
/** The key re-check, shortened from its 10 s; a revocation through this process must end a stream well before it. */
const RECHECK_MS = 2_000;
/** The change feed's overlap, shortened from its 3 s: a transaction must outlast it to be read late. */
const OVERLAP_MS = 500;
let db: TestDatabase;
let dir: string;
let cp: RunningControlPlane;
let api: Api;
const sims: SimDevice[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'flotilla-events-'));
  cp = await startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: dir, apiKey: KEY },
    { keyRecheckMs: RECHECK_MS, feedOverlapMs: OVERLAP_MS },
  );
  api = apiClient(() => cp.httpUrl, KEY);
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
  await cp?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** Reads until the server ends the stream; fails after `timeoutMs`. */
async function untilEnded(reader: ReadableStreamDefaultReader<string>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stream still open after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        while (!(await reader.read()).done);
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads server-sent events from a fetch body until `until` accepts one. */
async function readUntil(body: ReadableStream<Uint8Array>, until: (e: LiveEvent) => boolean): Promise<LiveEvent[]> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const seen: LiveEvent[] = [];
  const frames = new SseFrames();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended after ${JSON.stringify(seen)}`);
    for (const data of frames.push(value)) {
      const event = JSON.parse(data) as LiveEvent;
      seen.push(event);
      if (until(event)) {
        await reader.cancel();
        return seen;
      }
    }
  }
}

/** Collects the server-sent events of a stream as they come, until `close`. */
function collect(body: ReadableStream<Uint8Array>): { seen: LiveEvent[]; close(): void } {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const seen: LiveEvent[] = [];
  void (async () => {
    const frames = new SseFrames();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done || value === undefined) return;
      for (const data of frames.push(value)) seen.push(JSON.parse(data) as LiveEvent);
    }
  })();
  return { seen, close: () => void reader.cancel().catch(() => undefined) };
}

describe('dashboard API', () => {
  it('needs a key for the event stream', async () => {
    expect((await api('/api/v1/events/stream', { key: null })).status).toBe(401);
  });

  it('streams a device connecting as a live event', async () => {
    const res = await api('/api/v1/events/stream');
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = readUntil(res.body!, (e) => e.type === 'device' && e.online);
    // The feed learns the present on its first read; the device connects after it.
    await new Promise((r) => setTimeout(r, 1200));
    sims.push(...(await startSimFleet(api, cp.mqttUrl, 1)));
    const seen = await events;
    expect(seen[0]).toMatchObject({ type: 'hello' });
    expect(seen.at(-1)).toMatchObject({ type: 'device', id: sims[0]!.deviceId, name: 'sim-0', online: true });
  });

  it('pages, searches and counts devices', async () => {
    const page = await json<DashboardDevicePage>(api('/api/v1/dashboard/devices?q=SIM-0&status=online&limit=1'), 200);
    expect([page.total, page.items[0]?.name]).toEqual([1, 'sim-0']);
    const bad = await api('/api/v1/dashboard/devices?sort=password_hash');
    expect(bad.status).toBe(400);
    const overview = await json<DashboardOverview>(api('/api/v1/dashboard/overview'), 200);
    expect(overview.devices).toMatchObject({ total: 1, online: 1, offline: 0 });
  });

  it('serves the app at / and for deep links, but not over the API', async () => {
    const index = await fetch(`${cp.httpUrl}/devices/abc`, { headers: { accept: 'text/html' } });
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="root">');
    const missing = await api('/api/v1/nothing-here');
    expect([missing.status, missing.headers.get('content-type')]).toEqual([404, expect.stringContaining('json')]);
  });

  it('ends a stream when its key is revoked, and refuses the key after', async () => {
    const viewer = await json<CreatedOperatorKey>(
      api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: 'wall screen', role: 'viewer' }) }),
      201,
    );
    const res = await api('/api/v1/events/stream', { key: viewer.key });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toContain('event: hello');
    await json(api(`/api/v1/operators/keys/${viewer.id}`, { method: 'DELETE' }), 200);
    await untilEnded(reader, RECHECK_MS / 2);
    expect((await api('/api/v1/events/stream', { key: viewer.key })).status).toBe(401);
  });

  it('ends a stream within the re-check interval when its key is revoked behind this process (another replica)', async () => {
    const viewer = await json<CreatedOperatorKey>(
      api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: 'other replica', role: 'viewer' }) }),
      201,
    );
    const res = await api('/api/v1/events/stream', { key: viewer.key });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toContain('event: hello');
    await db.query('UPDATE operator_keys SET revoked_at = now() WHERE id = $1', [viewer.id]);
    await untilEnded(reader, RECHECK_MS + 5_000);
  });

  // A rollout's last decision is one transaction, and `updated_at = now()` is its start: committed
  // late enough, that time is behind the feed's watermark, and the rollout is no longer in motion.
  it('shows a rollout completing in a transaction that started before the last read', async () => {
    const [release, rollout] = [randomUUID(), randomUUID()];
    await db.query(
      `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, 'origin', '9.0.0', 'sha256:c', '', '{}')`,
      [release],
    );
    await db.query(
      `INSERT INTO rollouts (id, name, release_id, selection, phases, status, advance, device_timeout_ms, request_digest, created_by)
       VALUES ($1, 'late', $2, '{}', '[]', 'running', 'auto', 60000, 'd', 'test')`,
      [rollout, release],
    );
    const feed = collect((await api('/api/v1/events/stream')).body!);
    await eventually(
      async () => feed.seen.some((e) => e.type === 'rollout' && e.id === rollout),
      10_000,
      'the running rollout on the feed',
    );
    const late = new Client({ connectionString: db.url });
    await late.connect();
    try {
      await late.query('BEGIN');
      await late.query(`UPDATE rollouts SET status = 'completed', updated_at = now() WHERE id = $1`, [rollout]);
      // Past the feed's overlap, another change makes it read (and move its watermark) meanwhile.
      await new Promise((r) => setTimeout(r, 2 * OVERLAP_MS));
      const other = randomUUID();
      await db.query(
        `INSERT INTO releases (id, name, version, digest, manifest_yaml, assembly) VALUES ($1, 'origin', '9.0.1', 'sha256:d', '', '{}')`,
        [other],
      );
      await eventually(
        async () => feed.seen.some((e) => e.type === 'release' && e.id === other),
        10_000,
        'the read after the other change',
      );
      await late.query('COMMIT');
    } finally {
      await late.end();
    }
    await eventually(
      async () => feed.seen.some((e) => e.type === 'rollout' && e.id === rollout && e.status === 'completed'),
      10_000,
      'the completion on the feed',
    );
    feed.close();
  });

  it('ends open streams when the control plane stops', async () => {
    const res = await api('/api/v1/events/stream');
    const ended = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const started = Date.now();
    await cp.close();
    for (;;) if ((await ended.read()).done) break;
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
