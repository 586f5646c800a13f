import { deviceTopic, type FleetTargetJobView, type ReleaseView, type RolloutView, type SetFleetTargetResponse } from '@flotilla/shared';
import { manifest } from '../../src/testing/sim-fleet';
import { apiJson, type SimCredential } from '../../../cli/src/sim/simulation';
import { BareFanout } from './bare-fanout';
import { DatabaseUsage } from './database-usage';
import { metrics, procUsage, sleep, UsageMeter, waitFor, type ControlPlaneProcess } from './control-plane-process';
import { epochNow, LoadFleet } from './load-fleet';
import type { DesiredPayload, WorkerOptions } from './load-worker';

/**
 * The rollout bench's two sides, one round each (rollout.bench.ts runs them in pairs, back to
 * back): Flotilla telling its connected devices a new release, and a bare aedes publishing the
 * very messages those devices admitted to the same devices, freshly connected to it.
 */

export interface FlotillaRound {
  apiMs: number;
  /** ms after the API call was sent, sorted. */
  received: number[];
  settled: number[];
  completedMs: number;
  /** The control plane's CPU from the API call until every device had its message. */
  fanoutCpu: number;
  /** The load processes' CPU over the same span. */
  loadCpu: number;
  /** PostgreSQL's backends serving the control plane, over the same span: the same 2 cores. */
  databaseCpu: number;
  /** The control plane's CPU and peak RSS from the API call until the rollout completed. */
  cpuSeconds: number;
  peakRssMiB: number;
  split: FanoutSplit | undefined;
  /** Each device's message of this round, in the order they arrived. */
  payloads: DesiredPayload[];
  desiredBytes: number;
}

export interface FanoutSplit {
  passBegan: number;
  firstCommitted: number;
  lastCommitted: number;
  handed: number;
}

/**
 * Release `version` to every device of the fleet, by a rollout (or the fleet target), with `sim`
 * connected to the control plane; resolves once every device committed it and the rollout
 * completed. Counts only what arrived in this round: the same devices may have had earlier ones.
 */
export async function flotillaRound(
  cp: ControlPlaneProcess,
  sim: LoadFleet,
  fleetId: string,
  version: string,
  viaFleet: boolean,
): Promise<FlotillaRound> {
  const before = await sim.counts();
  const devices = before.devices;
  const release = await apiJson<ReleaseView>(cp.httpUrl, cp.apiKey, '/api/v1/releases', {
    method: 'POST',
    body: manifest(version),
    headers: { 'content-type': 'application/yaml' },
  });
  const usage = new UsageMeter(cp.pid).start();
  const untilReceived = new UsageMeter(cp.pid).start();
  const loadUsage = sim.pids.map((pid) => new UsageMeter(pid).start());
  const database = await DatabaseUsage.start(cp.db);
  const t0 = epochNow();
  let follow: string;
  if (viaFleet) {
    // 202: the assignment runs in the background, as a job to follow.
    const { job } = await apiJson<SetFleetTargetResponse>(
      cp.httpUrl,
      cp.apiKey,
      `/api/v1/fleets/${fleetId}/target`,
      { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) },
      [202],
    );
    follow = `/api/v1/fleet-target-jobs/${job.id}`;
  } else {
    const rollout = await apiJson<RolloutView>(cp.httpUrl, cp.apiKey, '/api/v1/rollouts', {
      method: 'POST',
      body: JSON.stringify({ releaseId: release.id, selection: { fleetId } }),
    });
    follow = `/api/v1/rollouts/${rollout.id}`;
  }
  const apiMs = epochNow() - t0;
  // Polled, but timed by the devices' own clocks (Timings); the CPU meters stop up to 20 ms late.
  const target = before.desiredReceived + devices;
  await waitFor(async () => (await sim.counts()).desiredReceived >= target, 300_000, 'every device received the release', 20);
  const fanoutCpu = untilReceived.stop().cpuSeconds;
  const loadCpu = loadUsage.reduce((n, m) => n + m.stop().cpuSeconds, 0);
  const databaseCpu = (await database.stop()).cpuSeconds;
  const split = viaFleet ? undefined : await fanoutSplit(cp, t0);
  const committed = before.committed + devices;
  await waitFor(async () => (await sim.counts()).committed >= committed, 300_000, 'every device committed', 100);
  await waitFor(
    async () => (await apiJson<RolloutView | FleetTargetJobView>(cp.httpUrl, cp.apiKey, follow)).status === 'completed',
    300_000,
    viaFleet ? 'fleet-target job completed' : 'rollout completed',
    250,
  );
  const completedMs = epochNow() - t0;
  const cpu = usage.stop();
  const timings = await sim.timings();
  const since = (times: number[]) =>
    times
      .filter((at) => at >= t0)
      .map((at) => at - t0)
      .sort((a, b) => a - b);
  return {
    apiMs,
    received: since(timings.received),
    settled: since(timings.settled),
    completedMs,
    fanoutCpu,
    loadCpu,
    databaseCpu,
    cpuSeconds: cpu.cpuSeconds,
    peakRssMiB: cpu.peakRssMiB,
    split,
    payloads: await sim.desiredPayloads(),
    desiredBytes: timings.desiredBytes,
  };
}

/**
 * The control plane's part of the fan-out, in ms after `t0`, from its `/metrics`; undefined from a
 * control plane without them (an older checkout through BENCH_CP_ROOT).
 */
async function fanoutSplit(cp: ControlPlaneProcess, t0: number): Promise<FanoutSplit | undefined> {
  // The pass records itself once its last publish was handed over, which may come just after the
  // last device received it; a later round waits for this round's record, not the last one's.
  const fresh = (m: Map<string, number>) => (m.get('flotilla_rollout_last_fanout_started_seconds') ?? 0) * 1000 >= t0;
  let m = await metrics(cp);
  for (let i = 0; i < 50 && !fresh(m); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    m = await metrics(cp);
  }
  const started = m.get('flotilla_rollout_last_fanout_started_seconds');
  if (started === undefined || !fresh(m)) return undefined;
  const at = (until: string) => started * 1000 + (m.get(`flotilla_rollout_last_fanout_seconds{until="${until}"}`) ?? NaN) * 1000 - t0;
  return {
    passBegan: started * 1000 - t0,
    firstCommitted: at('first-committed'),
    lastCommitted: at('last-committed'),
    handed: at('handed-to-broker'),
  };
}

/**
 * Waits until the control plane and its database are done with the round's aftermath (the answers
 * it held during the fan-out, their writes), so that the bare round after it has the cores the
 * Flotilla round had: each under 5 % of a core over two 250 ms windows in a row, 30 s at most.
 * A fleet target's job completes before its devices' answers are stored, unlike a rollout.
 */
export async function untilQuiet(cp: ControlPlaneProcess): Promise<number> {
  const t0 = performance.now();
  const windowMs = 250;
  for (let quiet = 0; quiet < 2 && performance.now() - t0 < 30_000;) {
    const database = await DatabaseUsage.start(cp.db);
    const before = procUsage(cp.pid).cpuSeconds;
    await sleep(windowMs);
    const busiest = Math.max(procUsage(cp.pid).cpuSeconds - before, (await database.stop()).cpuSeconds);
    quiet = busiest < (0.05 * windowMs) / 1000 ? quiet + 1 : 0;
  }
  return performance.now() - t0;
}

export interface BareRound {
  /** ms after the bare broker's first publish, sorted. */
  received: number[];
  handedMs: number;
  serverCpu: number;
  loadCpu: number;
}

/** The same messages from a bare aedes to the same devices, freshly connected to it in as many load processes. */
export async function bareToDevices(
  creds: readonly SimCredential[],
  payloads: readonly DesiredPayload[],
  options: WorkerOptions,
  processes: number,
): Promise<BareRound> {
  if (payloads.length !== creds.length) throw new Error(`${payloads.length} desired messages kept for ${creds.length} devices`);
  const bare = await BareFanout.start();
  const fleet = await LoadFleet.start(creds, processes);
  try {
    await fleet.connect({ ...options, mqttUrl: bare.mqttUrl });
    // As in Flotilla's run, every device is connected when the first message goes out.
    await waitFor(
      async () => (await fleet.counts()).connected >= payloads.length,
      120_000,
      'every device connected to the bare broker',
      100,
    );
    await bare.load(payloads.map((p) => ({ topic: deviceTopic(p.deviceId, 'desired'), payload: Buffer.from(p.base64, 'base64') })));
    const server = new UsageMeter(bare.pid).start();
    const load = fleet.pids.map((pid) => new UsageMeter(pid).start());
    const t0 = epochNow();
    const handed = bare.publish();
    await waitFor(
      async () => (await fleet.counts()).desiredReceived >= payloads.length,
      300_000,
      'every device received its message from the bare broker',
      20,
    );
    const serverCpu = server.stop().cpuSeconds;
    const loadCpu = load.reduce((n, m) => n + m.stop().cpuSeconds, 0);
    const handedMs = await handed;
    const received = (await fleet.timings()).received.map((at) => at - t0).sort((a, b) => a - b);
    return { received, handedMs, serverCpu, loadCpu };
  } finally {
    await fleet.stop();
    await bare.stop();
  }
}
