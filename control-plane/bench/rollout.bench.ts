import { deviceTopic, type FleetTargetJobView, type ReleaseView, type RolloutView, type SetFleetTargetResponse } from '@flotilla/shared';
import { machineLine, percentile, printTable, runBench } from '../../test/bench/machine';
import { manifest } from '../src/testing/sim-fleet';
import { apiJson, createSimFleet, provisionDevices, type SimCredential } from '../../cli/src/sim/simulation';
import { BareFanout, receiveOnlyBaseline } from './support/bare-fanout';
import { ControlPlaneProcess, metrics, numberFlags, UsageMeter, waitFor } from './support/control-plane-process';
import { epochNow, LoadFleet } from './support/load-fleet';
import type { DesiredPayload, WorkerOptions } from './support/load-worker';

/**
 * rollout: one release to N connected devices, by a rollout over their fleet (one phase, 100 %)
 * or, with `--fleet-target 1`, by setting the fleet's target release. Times from the API call
 * until each device received (and admitted: verified) its desired state, and until every device
 * has committed; the control plane's part split by its `/metrics` (`flotilla_rollout_last_fanout_*`).
 *
 * In the same run, the baseline with the same receiving work: the control plane stops, a bare
 * aedes (support/bare-fanout.ts) publishes the very messages the devices received, in the order
 * they arrived, each to its device's `desired` topic, QoS 1, 50 in flight, to the same simulated devices in the same
 * `--processes` load processes, freshly connected; they verify each message and answer it as
 * before (the bare broker receives their answers and drops them). Timed from its first publish.
 * With `--receive-only 1` (default) also the first baseline: plain clients in this process that
 * only note the arrival. Server CPU: user+system of the control plane (or the bare broker's
 * process) until every device has its message; PostgreSQL's not counted. Load CPU: the load processes'.
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), {
    devices: 10_000,
    apply: 2,
    'fleet-target': 0,
    'telemetry-every': 0,
    processes: 1,
    'receive-only': 1,
  });
  console.log(machineLine());
  const cp = await ControlPlaneProcess.start({ nodeArgs: (process.env.CP_NODE_ARGS ?? '').split(' ').filter(Boolean) });
  // Devices the rollout engine told again (a lost publish, or one not yet made 15 s after the assignment): extra messages in the run.
  let toldAgain = 0;
  cp.child!.stdout!.on('data', (d: Buffer) => {
    for (const m of d.toString().matchAll(/(\d+) devices show no sign of their assignment; told again/g)) toldAgain += Number(m[1]);
  });
  try {
    const fleet = await createSimFleet(cp.httpUrl, cp.apiKey);
    const creds = await provisionDevices({
      apiUrl: cp.httpUrl,
      apiKey: cp.apiKey,
      fleetId: fleet.id,
      count: flags.devices,
      registerConcurrency: 16,
    });
    const options: WorkerOptions = {
      mqttUrl: cp.mqttUrl,
      telemetryEverySeconds: flags['telemetry-every'],
      applySeconds: flags.apply,
      connectConcurrency: 1000,
      realistic: true,
    };
    const sim = await LoadFleet.start(creds, flags.processes);
    await sim.connect(options, true);
    console.log(`${(await sim.counts()).connected} devices connected (${sim.pids.length} load processes)`);
    const release = await apiJson<ReleaseView>(cp.httpUrl, cp.apiKey, '/api/v1/releases', {
      method: 'POST',
      body: manifest('1.0.0'),
      headers: { 'content-type': 'application/yaml' },
    });
    const usage = new UsageMeter(cp.pid).start();
    // The control plane's CPU until every device has its message: the fan-out's own cost, beside the bare broker's.
    const untilReceived = new UsageMeter(cp.pid).start();
    const loadUsage = sim.pids.map((pid) => new UsageMeter(pid).start());
    const viaFleet = flags['fleet-target'] === 1;
    const t0 = epochNow();
    let follow: string;
    if (viaFleet) {
      const { job } = await apiJson<SetFleetTargetResponse>(cp.httpUrl, cp.apiKey, `/api/v1/fleets/${fleet.id}/target`, {
        method: 'PUT',
        body: JSON.stringify({ releaseId: release.id }),
      });
      follow = `/api/v1/fleet-target-jobs/${job.id}`;
    } else {
      const rollout = await apiJson<RolloutView>(cp.httpUrl, cp.apiKey, '/api/v1/rollouts', {
        method: 'POST',
        body: JSON.stringify({ releaseId: release.id, selection: { fleetId: fleet.id } }),
      });
      follow = `/api/v1/rollouts/${rollout.id}`;
    }
    const apiMs = epochNow() - t0;
    // Polled, but timed by the devices' own clocks (Timings); the CPU meters stop up to 20 ms late.
    await waitFor(async () => (await sim.counts()).desiredReceived >= flags.devices, 300_000, 'every device received the release', 20);
    const fanoutCpu = untilReceived.stop().cpuSeconds;
    const loadCpu = loadUsage.reduce((n, m) => n + m.stop().cpuSeconds, 0);
    const split = viaFleet ? undefined : await fanoutSplit(cp, t0);
    await waitFor(async () => (await sim.counts()).committed >= flags.devices, 300_000, 'every device committed', 100);
    await waitFor(
      async () => (await apiJson<RolloutView | FleetTargetJobView>(cp.httpUrl, cp.apiKey, follow)).status === 'completed',
      300_000,
      viaFleet ? 'fleet-target job completed' : 'rollout completed',
      250,
    );
    const completedMs = epochNow() - t0;
    const cpu = usage.stop();
    const timings = await sim.timings();
    const payloads = await sim.desiredPayloads();
    const r = timings.received.map((at) => at - t0).sort((a, b) => a - b);
    const c = timings.settled.map((at) => at - t0).sort((a, b) => a - b);
    printTable([
      {
        via: viaFleet ? 'fleet target' : 'rollout (1 phase)',
        devices: flags.devices,
        'API call ms': apiMs,
        'received p50 ms': percentile(r, 50),
        'received p99 ms': percentile(r, 99),
        'received max ms': r[r.length - 1]!,
        'apply s': flags.apply,
        'committed p50 ms': percentile(c, 50),
        'committed max ms': c[c.length - 1]!,
        'job completed ms': completedMs,
        'cp CPU s': cpu.cpuSeconds,
        'cp RSS MiB': cpu.peakRssMiB.toFixed(0),
      },
    ]);
    if (split) {
      console.log('\nFlotilla, ms after the API call was sent:');
      printTable([
        {
          'API returned': apiMs,
          'pass began': split.passBegan,
          'first segment committed': split.firstCommitted,
          'first device received': r[0]!,
          'last segment committed': split.lastCommitted,
          'last publish handed to broker': split.handed,
          'received p50': percentile(r, 50),
          'last device received': r[r.length - 1]!,
        },
      ]);
    }
    if (toldAgain > 0) console.log(`devices told again by the rollout engine (redelivered): ${toldAgain}`);
    await sim.stop();
    // The control plane stops before the baselines run, so they do not share the machine.
    await cp.stop();

    const bytes = timings.desiredBytes;
    const same = await bareToDevices(creds, payloads, { ...options }, flags.processes);
    const plain = flags['receive-only'] === 1 ? await receiveOnlyBaseline(flags.devices, bytes) : undefined;
    const perMessage = (seconds: number) => ((seconds * 1e6) / flags.devices).toFixed(0);
    const rows: Record<string, string | number>[] = [
      {
        side: 'bare aedes → simulated devices (verify + answer)',
        'bytes each': bytes,
        'last publish handed ms': same.handedMs,
        'received first ms': same.received[0]!,
        'received p50 ms': percentile(same.received, 50),
        'received max ms': same.received[same.received.length - 1]!,
        'server CPU µs/msg': perMessage(same.serverCpu),
        'load CPU µs/msg': perMessage(same.loadCpu),
      },
    ];
    if (plain)
      rows.push({
        side: 'bare aedes → receive-only clients',
        'bytes each': bytes,
        'last publish handed ms': '',
        'received first ms': '',
        'received p50 ms': plain.p50,
        'received max ms': plain.max,
        'server CPU µs/msg': perMessage(plain.cpuSeconds),
        'load CPU µs/msg': '',
      });
    rows.push({
      side: 'Flotilla → simulated devices (verify + answer)',
      'bytes each': bytes,
      'last publish handed ms': split ? split.handed : '',
      'received first ms': r[0]!,
      'received p50 ms': percentile(r, 50),
      'received max ms': r[r.length - 1]!,
      'server CPU µs/msg': perMessage(fanoutCpu),
      'load CPU µs/msg': perMessage(loadCpu),
    });
    console.log('');
    printTable(rows);
    const flotillaMax = r[r.length - 1]!;
    const sameMax = same.received[same.received.length - 1]!;
    console.log(
      `ratio Flotilla / bare broker with the same receiving work, received by all: ${(flotillaMax / sameMax).toFixed(2)} ` +
        `(p50 ${(percentile(r, 50) / percentile(same.received, 50)).toFixed(2)}); server CPU per message ${(fanoutCpu / same.serverCpu).toFixed(2)}`,
    );
    if (plain)
      console.log(
        `ratio Flotilla / bare broker to receive-only clients (the first baseline), received by all: ${(flotillaMax / plain.max).toFixed(2)}; ` +
          `server CPU per message ${(fanoutCpu / plain.cpuSeconds).toFixed(2)}`,
      );
  } finally {
    await cp.close();
  }
}

/**
 * The control plane's part of the fan-out, in ms after `t0`, from its `/metrics`; undefined from a
 * control plane without them (an older checkout through BENCH_CP_ROOT).
 */
async function fanoutSplit(
  cp: ControlPlaneProcess,
  t0: number,
): Promise<{ passBegan: number; firstCommitted: number; lastCommitted: number; handed: number } | undefined> {
  let m = await metrics(cp);
  // The pass records itself once its last publish was handed over, which may come just after the last device received it.
  for (let i = 0; i < 50 && !m.has('flotilla_rollout_last_fanout_started_seconds'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    m = await metrics(cp);
  }
  const started = m.get('flotilla_rollout_last_fanout_started_seconds');
  if (started === undefined) return undefined;
  const at = (until: string) => started * 1000 + (m.get(`flotilla_rollout_last_fanout_seconds{until="${until}"}`) ?? NaN) * 1000 - t0;
  return {
    passBegan: started * 1000 - t0,
    firstCommitted: at('first-committed'),
    lastCommitted: at('last-committed'),
    handed: at('handed-to-broker'),
  };
}

/** The same messages from a bare aedes to the same devices, freshly connected to it in as many load processes. */
async function bareToDevices(
  creds: readonly SimCredential[],
  payloads: readonly DesiredPayload[],
  options: WorkerOptions,
  processes: number,
): Promise<{ received: number[]; handedMs: number; serverCpu: number; loadCpu: number }> {
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

runBench(main);
