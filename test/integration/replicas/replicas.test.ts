import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SseFrames, type LiveEvent, type RolloutView } from '@flotilla/shared';
import { connectAsync, type MqttClient } from 'mqtt';
import { startReplica, type ReplicaProcess } from '../../../control-plane/src/testing/replica-process';
import { SimDevice } from '../../../control-plane/src/testing/sim-device';
import { json, publishRelease, registerDevices, until, type Api } from '../../../control-plane/src/testing/sim-fleet';
import { startTcpSwitch, type TcpSwitch } from '../../../control-plane/src/testing/tcp-switch';
import { createTestDatabase, type TestDatabase } from '../../../control-plane/src/testing/test-database';

/**
 * Three control-plane processes on one PostgreSQL (issue 14, a stateless control plane): timed
 * jobs run once among them, the live feed of one shows what another did, and a rollout goes on
 * when the replica deciding it is SIGKILLed, without any decision made twice. Devices reach the
 * replicas through a TCP switch (standing for the load balancer), pointed at the replica whose
 * embedded broker the rollout's decisions are published on (one broker per replica here; the
 * shared external broker is another piece of work).
 */
jest.setTimeout(180_000);

const KEY = 'replicas-test-operator-key-0123456789';
const DEVICES = 20;
const LEASE_S = 3;

let db: TestDatabase;
let dataDir: string;
let replicas: ReplicaProcess[] = [];
let front: TcpSwitch | undefined;
let sims: SimDevice[] = [];
let env: Record<string, string> = {};
const clients: MqttClient[] = [];

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);
const apiOf =
  (r: ReplicaProcess): Api =>
  (path, init) =>
    r.api(path, init);

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'flotilla-replicas-'));
  env = {
    DATABASE_URL: db.url,
    FLOTILLA_API_KEY: KEY,
    // One data directory for all, as a shared volume: the signing keys and secrets are the same on every replica.
    FLOTILLA_DATA_DIR: dataDir,
    FLOTILLA_ROLLOUT_LEASE_S: String(LEASE_S),
    HTTPS_PORT: '0',
    MQTTS_PORT: '0',
  };
  // The first creates the data directory's keys; the other two start together.
  const a = await startReplica('a', env);
  replicas = [a, ...(await Promise.all([startReplica('b', env), startReplica('c', env)]))];
}, 120_000);

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await front?.close();
  await Promise.all(replicas.map((r) => r.stop()));
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('three control-plane replicas on one PostgreSQL', () => {
  it('runs each timed job once among them', async () => {
    for (const job of ['telemetry-retention', 'device-event-retention']) {
      // Barrier: every replica has checked the job (each does when it starts); one of them ran it.
      await until(
        async () => (await Promise.all(replicas.map((r) => r.metric('flotilla_scheduled_job_checks_total', { job })))).every((n) => n >= 1),
        30_000,
        `${job} checked by every replica`,
      );
      const ran = await Promise.all(replicas.map((r) => r.metric('flotilla_scheduled_job_checks_total', { job, outcome: 'ran' })));
      const notDue = await Promise.all(replicas.map((r) => r.metric('flotilla_scheduled_job_checks_total', { job, outcome: 'not-due' })));
      expect({ job, ran: sum(ran), notDue: sum(notDue) }).toEqual({ job, ran: 1, notDue: 2 });
    }
    expect(await db.query(`SELECT name, runs FROM scheduled_jobs WHERE name LIKE '%-retention' ORDER BY name`)).toEqual([
      { name: 'device-event-retention', runs: '1' },
      { name: 'telemetry-retention', runs: '1' },
    ]);
  });

  it('shows on the live feed of one replica a change made through another', async () => {
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess];
    const abort = new AbortController();
    const res = await fetch(`${b.httpUrl}/api/v1/events/stream`, { headers: { authorization: `Bearer ${KEY}` }, signal: abort.signal });
    const events = sseEvents(res);
    try {
      expect((await events.next()).value).toMatchObject({ type: 'hello' });
      const release = await publishRelease(apiOf(a), '0.9.0');
      for (;;) {
        const { value, done } = await events.next();
        if (done) throw new Error('the stream ended before the release was announced');
        if (value.type === 'release' && value.id === release.id) break;
      }
    } finally {
      abort.abort();
    }
  });

  it('hands a rollout to another replica within seconds of its holder being killed, and makes no decision twice', async () => {
    const [a, b] = replicas as [ReplicaProcess, ReplicaProcess, ReplicaProcess];
    const release = await publishRelease(apiOf(a), '1.0.0');
    const registered = await registerDevices(apiOf(a), DEVICES);
    const revsBefore = await desiredRevs();

    // The same request with the same Idempotency-Key through two replicas at once: one rollout.
    const body = JSON.stringify({
      releaseId: release.id,
      selection: { deviceIds: registered.map((d) => d.deviceId) },
      phases: [{ count: 4 }, { percent: 100 }],
      advance: 'manual',
    });
    const answers = await Promise.all(
      [a, b].map((r) => r.api('/api/v1/rollouts', { method: 'POST', body, headers: { 'idempotency-key': 'replicas-rollout-1' } })),
    );
    const views = await Promise.all(answers.map((r) => r.json() as Promise<RolloutView>));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(views[0]!.id).toBe(views[1]!.id);
    const id = views[0]!.id;
    expect(await db.query('SELECT count(*)::int AS n FROM rollouts')).toEqual([{ n: 1 }]);

    // Devices go to the broker of the replica that took the rollout's lease.
    const holder = await until(() => leaseHolder(id), 10_000, 'a replica holding the lease');
    front = await startTcpSwitch(mqttPort(holder));
    sims = await Promise.all(
      registered.map((d) =>
        new SimDevice({ mqttUrl: front!.url, deviceId: d.deviceId, password: d.password, updateMs: 1500, reconnectPeriodMs: 200 }).start(),
      ),
    );
    const other = replicas.find((r) => r !== holder)!;
    const view = (r: ReplicaProcess) => json<RolloutView>(r.api(`/api/v1/rollouts/${id}`), 200);
    await until(async () => (await view(other)).status === 'waiting', 30_000, 'phase 1 done, waiting for advance');
    expect(await leaseHolder(id)).toBe(holder);

    // The advance goes through another replica; the holder decides, and is killed mid-phase.
    await json(other.api(`/api/v1/rollouts/${id}/advance`, { method: 'POST' }), 200);
    await until(async () => (await view(other)).phases[1]!.progress.updating > 0, 10_000, 'phase 2 under way');
    front.target = null;
    const killedAt = Date.now();
    await holder.kill();
    const successor = await until(
      async () => {
        const h = await leaseHolder(id);
        return h && h !== holder ? h : undefined;
      },
      15_000,
      'another replica holding the lease',
    );
    const takeoverMs = Date.now() - killedAt;
    console.log(`rollout lease taken over ${takeoverMs} ms after SIGKILL of its holder (lease ${LEASE_S} s)`);
    expect(takeoverMs).toBeLessThan(LEASE_S * 1000 + 4000);
    front.target = mqttPort(successor);

    const done = await until(
      async () => {
        const r = await view(successor);
        return r.status === 'completed' ? r : undefined;
      },
      60_000,
      'completed after the takeover',
    );
    expect(done.totals).toMatchObject({ devices: DEVICES, succeeded: DEVICES, failed: 0 });
    expect(sims.every((s) => s.activeReleaseId === release.id)).toBe(true);

    // The decision log: numbered without gap, tokens only growing, the successor deciding after the holder.
    const decisions = await db.query<{ seq: string; holder: string; lease_token: string; actions: { kind: string; deviceId?: string }[] }>(
      'SELECT seq, holder, lease_token, actions FROM rollout_decisions WHERE rollout_id = $1 ORDER BY seq',
      [id],
    );
    expect(decisions.map((d) => Number(d.seq))).toEqual(decisions.map((_, i) => i + 1));
    const tokens = decisions.map((d) => Number(d.lease_token));
    expect(tokens).toEqual([...tokens].sort((x, y) => x - y));
    const pids = decisions.map((d) => pidOf(d.holder));
    expect(pids.indexOf(successor.pid)).toBeGreaterThan(pids.lastIndexOf(holder.pid));
    // Each device assigned exactly once, its rev moved exactly once, and the rollout recorded that rev.
    const assigned = decisions.flatMap((d) => d.actions.filter((x) => x.kind === 'assign').map((x) => x.deviceId!));
    expect(assigned.sort()).toEqual(registered.map((d) => d.deviceId).sort());
    const revsAfter = await desiredRevs();
    expect([...revsAfter].map(([device, rev]) => [device, rev - revsBefore.get(device)!])).toEqual([...revsAfter].map(([d]) => [d, 1]));
    const recorded = await db.query<{ device_id: string; assigned_rev: number }>(
      'SELECT device_id, assigned_rev FROM rollout_devices WHERE rollout_id = $1 ORDER BY device_id',
      [id],
    );
    expect(recorded.map((r) => [r.device_id, r.assigned_rev])).toEqual([...revsAfter].map(([d, rev]) => [d, rev]));
  });

  it("keeps presence per replica: one starting leaves the others' devices online, one killed has its devices swept", async () => {
    const live = await liveReplicas();
    const d = await startReplica('d', env);
    replicas.push(d);
    const [p, q] = await registerDevices(apiOf(live[0]!), 2, 'presence');
    const owners = new Map([
      [p!.deviceId, live[0]!],
      [q!.deviceId, d],
    ]);
    for (const [id, replica] of owners) {
      const password = (id === p!.deviceId ? p : q)!.password;
      clients.push(await connectAsync(replica.mqttUrl, { clientId: id, username: id, password, reconnectPeriod: 0 }));
    }
    const presence = async () =>
      new Map(
        (
          await db.query<{ id: string; online: boolean; online_via: string | null }>(
            'SELECT id, online, online_via FROM devices WHERE id = ANY($1)',
            [[...owners.keys()]],
          )
        ).map((r) => [r.id, r.online ? pidOf(r.online_via ?? '/0') : 0]),
      );
    const expected = new Map([...owners].map(([id, r]) => [id, r.pid]));
    await until(
      // Compared by key: the rows come back in heap order, which depends on which replica's presence write landed first.
      async () => {
        const now = await presence();
        return now.size === expected.size && [...expected].every(([id, pid]) => now.get(id) === pid);
      },
      10_000,
      'both online, each held by its replica',
    );

    // A replica starting (its broker started, the moment it used to mark every device offline) leaves them online.
    replicas.push(await startReplica('e', env));
    expect(await presence()).toEqual(expected);

    // The SIGKILLed replica's device goes offline once its heartbeat is stale (20 s) and the sweep ran; the other stays.
    await d.kill();
    await until(async () => (await presence()).get(q!.deviceId) === 0, 60_000, "the killed replica's device swept offline");
    expect((await presence()).get(p!.deviceId)).toBe(live[0]!.pid);
  });
});

/** Replicas still answering (the rollout test killed one). */
async function liveReplicas(): Promise<ReplicaProcess[]> {
  const answers = await Promise.all(
    replicas.map((r) =>
      fetch(`${r.httpUrl}/healthz`).then(
        (res) => res.ok,
        () => false,
      ),
    ),
  );
  return replicas.filter((_, i) => answers[i]);
}

/** The replica holding the rollout's lease now (by the pid in its holder name). */
async function leaseHolder(rolloutId: string): Promise<ReplicaProcess | undefined> {
  const [row] = await db.query<{ lease_holder: string | null }>(
    'SELECT lease_holder FROM rollouts WHERE id = $1 AND lease_expires_at > now()',
    [rolloutId],
  );
  return row?.lease_holder ? replicas.find((r) => r.pid === pidOf(row.lease_holder!)) : undefined;
}

function pidOf(holder: string): number {
  return Number(holder.split('/')[1]);
}

function mqttPort(replica: ReplicaProcess): number {
  return Number(new URL(replica.mqttUrl).port);
}

async function desiredRevs(): Promise<Map<string, number>> {
  const rows = await db.query<{ id: string; desired_rev: number }>('SELECT id, desired_rev FROM devices ORDER BY id');
  return new Map(rows.map((r) => [r.id, r.desired_rev]));
}

/** The events of a server-sent event stream, parsed. */
async function* sseEvents(res: Response): AsyncGenerator<LiveEvent> {
  const decoder = new TextDecoder();
  const frames = new SseFrames();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    for (const data of frames.push(decoder.decode(chunk, { stream: true }))) yield JSON.parse(data) as LiveEvent;
  }
}
