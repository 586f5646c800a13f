import { spawn } from 'node:child_process';
import { SseFrames, type Desired, type LiveEvent, type ReleaseView, type RolloutView } from '@flotilla/shared';
import { manifest } from '../../control-plane/src/testing/sim-fleet';
import { apiJson, connectDevices, createSimFleet, provisionDevices, type Simulation } from '../../cli/src/sim/simulation';
import { ComposeProject, deployImages, docker, probeStatus } from '../support/compose';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

// End to end on the HA shape (deploy/ha/compose.yml, images built offline): three control-plane
// replicas on one PostgreSQL, a three-node RabbitMQ cluster (device auth through the replicas'
// HTTP auth routes, uplink through one shared quorum queue), HAProxy in front of HTTP and MQTT.
// A three-phase rollout to simulated devices (through HAProxy) completes while, in its second
// phase, one replica is SIGKILLed (docker kill) and one RabbitMQ node is stopped. Afterwards:
// every device runs the target release, each was assigned exactly once (desired rev +1, one
// desired state for the release, one `assign` in the decision log, one rollout_devices row), the
// decision log is numbered without gap under growing lease tokens, cp1's own live feed showed the
// completion, every device's telemetry of the window reached PostgreSQL, and the live replicas'
// /metrics show rabbit3 down and the two others running (never "cannot read the cluster's nodes").
//
// Opt-in (FLOTILLA_HA_E2E=1, FLOTILLA_HA_DEVICES, default 1,000): 6-7 minutes at 1,000 devices,
// about 3 at 100, far past what the default suite can spend. Passed at 1,000 on 2026-12-05 with
// other suites running (load average 13-31): images 42.5 s (application changed), compose up 42 s,
// register 34 s, connect 139 s, rollout 83 s, down 18 s; 378 s in all. What it found on the way:
// per-replica data volumes (devices refused desired states signed by another replica's key), a
// redelivered older report overwriting a newer one, telemetry acknowledged before it was written,
// a registration answering 500 on a pool timeout, the live feed missing a late-committed completion.
// Passed again at 1,000 on 2026-12-05 after session 9's changes (two session copies, the connection
// list asked of one node, spaced device writes, one fan-out per rollout pass), load average 1-8:
// compose up 61 s, register 33 s, connect 57 s, rollout 32 s (3,969 of 3,969 samples stored); 221 s in all.
// Passed again at 1,000 on 2026-12-06 with HAProxy sizing its own connection limit (no `maxconn`
// in deploy/ha/haproxy.cfg): compose up 57 s, register 50 s, connect 230 s, rollout 80 s (8,931 of
// 8,931 samples stored); 518 s in all.
const enabled = process.env.FLOTILLA_HA_E2E === '1';
const maybe = enabled ? it : it.skip;
jest.setTimeout(900_000);

const DEVICES = Number(process.env.FLOTILLA_HA_DEVICES ?? 1000);
const apiKey = 'ha-e2e-operator-key-0123456789abcdef';
let project: ComposeProject;
let apiUrl = '';
let sim: Pick<Simulation, 'devices' | 'counts' | 'stop'> | undefined;
let feed: { events: LiveEvent[]; close(): void } | undefined;
const timings: Record<string, string> = {};
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

beforeAll(async () => {
  if (!enabled) return;
  const images = await deployImages();
  timings['images (deploy/build-images.sh)'] = `${images.seconds.toFixed(1)} s`;
  const [http, https, mqtts] = [await freePort(), await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${http}`;
  project = new ComposeProject('deploy/ha/compose.yml', {
    ...images.env,
    FLOTILLA_API_KEY: apiKey,
    FLOTILLA_SECRET: `ha-e2e-${Date.now()}-secret`,
    FLOTILLA_PUBLISH_HOST: '127.0.0.1',
    FLOTILLA_HTTP_PORT: String(http),
    FLOTILLA_HTTPS_PORT: String(https),
    FLOTILLA_MQTT_PORT: String(mqtts),
    // Devices use MQTT/TLS through HAProxy to the nodes, with their own certificates.
    FLOTILLA_PUBLIC_MQTT_URL: `mqtts://127.0.0.1:${mqtts}`,
    FLOTILLA_PUBLIC_API_URL: `https://127.0.0.1:${https}`,
  });
  const t0 = performance.now();
  // Bounded by the RabbitMQ nodes' health (boot and clustering), which took over 2 minutes on a loaded machine.
  await project.up([], 300_000).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${await project.logs([], 30)}`);
  });
  await waitFor(
    'HAProxy serving a ready replica',
    async () => ((await probeStatus(`${apiUrl}/readyz`)) === 200 ? true : undefined),
    120_000,
  );
  timings['docker-compose up (3 replicas, 3 RabbitMQ nodes, PostgreSQL, HAProxy)'] = seconds(t0);
});

afterAll(async () => {
  feed?.close();
  await sim?.stop();
  if (project) {
    const t0 = performance.now();
    await project.down();
    timings['docker-compose down -v'] = seconds(t0);
  }
  console.log(
    Object.entries(timings)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  );
});

/** Every device's desired release and rev, in one query (1,000 API reads took longer than the rollout). */
async function desiredByDevice(): Promise<Map<string, { releaseId: string | null; rev: number }>> {
  const rows = JSON.parse(
    await psql(
      `SELECT coalesce(json_agg(json_build_object('id', id, 'releaseId', desired_release_id, 'rev', desired_rev)), '[]') FROM devices`,
    ),
  ) as { id: string; releaseId: string | null; rev: number }[];
  return new Map(rows.map((r) => [r.id, { releaseId: r.releaseId, rev: r.rev }]));
}

async function psql(sql: string): Promise<string> {
  return docker(['exec', await project.container('postgres'), 'psql', '-h', '/tmp', '-U', 'flotilla', '-d', 'flotilla', '-tAc', sql]);
}

maybe(`completes a phased rollout to ${DEVICES} devices while a replica is killed and a broker node stopped`, async () => {
  const fleet = await createSimFleet(apiUrl, apiKey, 'ha-e2e');
  let t0 = performance.now();
  const credentials = await provisionDevices({
    apiUrl,
    apiKey,
    fleetId: fleet.id,
    count: DEVICES,
    namePrefix: 'ha',
    registerConcurrency: 8,
    certificates: true,
  }).catch(async (e: Error) => {
    throw new Error(`${e.message}\n${await project.logs(['cp1', 'cp2', 'cp3'], 40)}`);
  });
  timings[`register ${DEVICES} devices`] = seconds(t0);
  const desiredFor = new Map<string, Set<number>>();
  let releaseId = '';
  t0 = performance.now();
  sim = await connectDevices(credentials, {
    // About 100 messages/s of telemetry whatever the fleet's size (every 2 s at 100 devices, 10 s at
    // 1,000): the replicas share two cores with the nodes, the devices and other suites.
    telemetryEverySeconds: Math.max(2, DEVICES / 100),
    applySeconds: 2,
    reconnectPeriodMs: 1000,
    connectConcurrency: 100,
    onDesired: (d, desired: Desired) => {
      if (!releaseId || desired.release?.id !== releaseId) return;
      const revs = desiredFor.get(d.deviceId) ?? new Set<number>();
      desiredFor.set(d.deviceId, revs.add(desired.rev));
    },
  });
  expect(sim.counts().connected).toBe(DEVICES);
  timings[`connect ${DEVICES} devices through HAProxy to RabbitMQ`] = seconds(t0);
  const before = await desiredByDevice();

  const release = await apiJson<ReleaseView>(apiUrl, apiKey, '/api/v1/releases', {
    method: 'POST',
    body: manifest('2.0.0'),
    headers: { 'content-type': 'application/yaml' },
  });
  releaseId = release.id;
  const windowStart = new Date();
  const telemetryBefore = sim.counts().telemetrySent;
  t0 = performance.now();
  const rollout = await apiJson<RolloutView>(apiUrl, apiKey, '/api/v1/rollouts', {
    method: 'POST',
    body: JSON.stringify({
      releaseId: release.id,
      selection: { fleetId: fleet.id },
      phases: [{ percent: 10 }, { percent: 50 }, { percent: 100 }],
      deviceTimeoutSeconds: 300,
    }),
  });
  const view = () => apiJson<RolloutView>(apiUrl, apiKey, `/api/v1/rollouts/${rollout.id}`);

  // Mid-phase: the second phase has started and not finished.
  const stuck = async (e: Error): Promise<never> => {
    const v = await view();
    throw new Error(
      `${e.message}: rollout ${v.status} phase ${v.currentPhase} ${JSON.stringify(v.totals)}; devices ${JSON.stringify(sim?.counts())}\n${await project.logs(['cp1', 'cp3', 'rabbit1'], 40)}`,
    );
  };
  await waitFor('the rollout in its second phase', async () => ((await view()).currentPhase >= 1 ? true : undefined), 180_000, 250).catch(
    stuck,
  );
  const mid = await view();
  timings['faults injected at'] = `${seconds(t0)} (phase ${mid.currentPhase}, ${mid.totals.succeeded}/${DEVICES} succeeded)`;
  // The dashboard's live feed as served by cp1 itself (not through HAProxy), whichever replica
  // decides; opened before the faults (at 100 devices the rollout can complete within the 10+ s
  // that stopping rabbit3 takes, before a feed opened after them).
  feed = await liveFeed('cp1');
  await docker(['kill', '--signal', 'KILL', await project.container('cp2')]);
  await docker(['stop', '--time', '10', await project.container('rabbit3')]);

  await waitFor('the rollout completed', async () => ((await view()).status === 'completed' ? true : undefined), 300_000, 500).catch(stuck);

  timings['rollout (3 phases) completed after'] = seconds(t0);
  await waitFor(
    "the rollout's completion on cp1's live feed",
    async () => (feed!.events.some((e) => e.type === 'rollout' && e.id === rollout.id && e.status === 'completed') ? true : undefined),
    15_000,
  ).catch(async (e: Error) => {
    const seen = feed!.events.filter((x) => x.type === 'rollout').map((x) => (x.type === 'rollout' ? `${x.status}/${x.currentPhase}` : ''));
    throw new Error(`${e.message}; rollout events on cp1's feed: ${seen.join(' ')}\n${await project.logs(['cp1'], 40)}`);
  });
  expect(feed.events.filter((e) => e.type === 'device').length).toBeGreaterThan(0);

  // The live replicas saw the cluster throughout: rabbit3 down, the two others running, and never
  // "cannot read the cluster's nodes" (every management URL timed out while rabbit3 was stopping).
  for (const cp of ['cp1', 'cp3']) {
    const container = await project.container(cp);
    const metrics = () =>
      docker(['exec', container, 'curl', '-sS', '-H', `authorization: Bearer ${apiKey}`, 'http://127.0.0.1:3000/metrics']);
    const running = async () => {
      const text = await metrics();
      return [1, 2, 3].map((n) => new RegExp(`flotilla_broker_node_running\\{node="rabbit@rabbit${n}"\\} (\\d)`).exec(text)?.[1]).join(',');
    };
    await waitFor(
      `${cp}'s /metrics showing rabbit3 down`,
      async () => ((await running()) === '1,1,0' ? true : undefined),
      30_000,
      1000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}: ${await running()}\n${await project.logs([cp], 40)}`);
    });
  }
  expect(await project.logs(['cp1', 'cp3'], 5000)).not.toContain("cannot read the cluster's nodes");

  // The records: each decision once (numbered without gap, fenced tokens only growing), each device assigned once, none skipped.
  const decisions = JSON.parse(
    await psql(
      `SELECT coalesce(json_agg(json_build_object('seq', seq, 'token', lease_token, 'actions', actions) ORDER BY seq), '[]') FROM rollout_decisions WHERE rollout_id = '${rollout.id}'`,
    ),
  ) as { seq: number; token: number; actions: { kind: string; deviceId?: string }[] }[];
  expect(decisions.map((d) => d.seq)).toEqual(decisions.map((_, i) => i + 1));
  expect(decisions.map((d) => d.token)).toEqual(decisions.map((d) => d.token).sort((x, y) => x - y));
  const assigned = decisions.flatMap((d) => d.actions.filter((x) => x.kind === 'assign').map((x) => x.deviceId!));
  expect(assigned.sort()).toEqual(credentials.map((c) => c.deviceId).sort());
  expect(await psql(`SELECT count(*) || '/' || count(DISTINCT device_id) FROM rollout_devices WHERE rollout_id = '${rollout.id}'`)).toBe(
    `${DEVICES}/${DEVICES}`,
  );
  timings['rollout decisions'] = `${decisions.length} (lease tokens ${[...new Set(decisions.map((d) => d.token))].join(', ')})`;

  // Every device on the target release, each assigned exactly once.
  const after = await desiredByDevice();
  const notOnceOnTarget = credentials
    .map((c) => ({
      id: c.deviceId,
      desired: after.get(c.deviceId)?.releaseId,
      revs: (after.get(c.deviceId)?.rev ?? 0) - (before.get(c.deviceId)?.rev ?? 0),
      received: desiredFor.get(c.deviceId)?.size ?? 0,
    }))
    .filter((d) => d.desired !== release.id || d.revs !== 1 || d.received !== 1);
  expect(notOnceOnTarget).toEqual([]);
  expect(sim.devices.every((d) => d.activeReleaseId === release.id)).toBe(true);

  // Telemetry of the window: what the devices sent (QoS 1) is in PostgreSQL once, for every device.
  // Telemetry stops first and every sample sent is let be acknowledged (one sent as its node went
  // down is sent again after the reconnect): a sample still unacknowledged when a device is closed
  // may never have reached the broker, which would be the test's loss, not Flotilla's.
  for (const d of sim.devices) d.stopTelemetry();
  const unacked = () => sim!.counts().telemetrySent - sim!.counts().telemetryAcked;
  await waitFor('every telemetry sample sent acknowledged', async () => (unacked() === 0 ? true : undefined), 30_000, 200).catch(
    () => undefined,
  );
  expect(unacked()).toBe(0);
  const sent = sim.counts().telemetrySent - telemetryBefore;
  await sim.stop();
  sim = undefined;
  let stored = 0;
  await waitFor(
    'the telemetry of the window stored',
    async () => {
      stored = Number(await psql(`SELECT count(*) FROM telemetry_samples WHERE at >= '${windowStart.toISOString()}'`));
      return stored >= sent ? true : undefined;
    },
    30_000,
    1000,
  ).catch(() => undefined);
  const devicesWithRows = Number(
    await psql(`SELECT count(DISTINCT device_id) FROM telemetry_samples WHERE at >= '${windowStart.toISOString()}'`),
  );
  timings['telemetry of the window'] = `${stored} rows stored of ${sent} sent, from ${devicesWithRows}/${DEVICES} devices`;
  expect(devicesWithRows).toBe(DEVICES);
  // Exactly: none lost, and none stored twice (a device's resend after the node loss is skipped).
  expect(stored).toBe(sent);
});

/** The live feed (server-sent events) of one replica, read inside its container. */
async function liveFeed(service: string): Promise<{ events: LiveEvent[]; close(): void }> {
  const events: LiveEvent[] = [];
  const curl = spawn('docker', [
    'exec',
    await project.container(service),
    'curl',
    '-sSN',
    '-H',
    `authorization: Bearer ${apiKey}`,
    'http://127.0.0.1:3000/api/v1/events/stream',
  ]);
  const frames = new SseFrames();
  curl.stdout.setEncoding('utf8');
  curl.stdout.on('data', (chunk: string) => {
    for (const data of frames.push(chunk)) events.push(JSON.parse(data) as LiveEvent);
  });
  await waitFor(`${service}'s live feed open`, async () => (events.some((e) => e.type === 'hello') ? true : undefined), 15_000);
  return { events, close: () => curl.kill() };
}
