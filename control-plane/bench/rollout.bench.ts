import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { FleetTargetJobView, ReleaseView, RolloutView, SetFleetTargetResponse } from '@flotilla/shared';
import { connectAsync, type MqttClient } from 'mqtt';
import { machineLine, percentile, printTable, runBench } from '../../test/bench/machine';
import { manifest } from '../src/testing/sim-fleet';
import { apiJson, createSimFleet, provisionDevices } from '../../cli/src/sim/simulation';
import { ControlPlaneProcess, freePort, numberFlags, UsageMeter, waitFor } from './support/control-plane-process';
import { epochNow, LoadFleet } from './support/load-fleet';

/**
 * rollout: one release to N connected devices, by a rollout over their fleet (one phase, 100 %)
 * or, with `--fleet-target 1`, by setting the fleet's target release. Times from the API call
 * until each device received its desired state, and until every device has committed. In the
 * same run, the baseline: a bare aedes delivering the same number of distinct messages of the
 * same size (the largest desired state received) to as many connected clients; the ratio of
 * "received by all" is printed, and the server's CPU per message (user+system of the control
 * plane, or of the bare broker's process, from the publish until all received; PostgreSQL's not counted).
 * The simulated devices run in `--processes` load processes (default 1): each device verifies its
 * message and answers it, which a real device does on its own CPU; with one process on a small
 * machine the load generator itself can set "received by all" (the bare baseline's clients only
 * receive). The bare baseline's clients stay in this process.
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, apply: 2, 'fleet-target': 0, 'telemetry-every': 0, processes: 1 });
  console.log(machineLine());
  const cp = await ControlPlaneProcess.start({ nodeArgs: (process.env.CP_NODE_ARGS ?? '').split(' ').filter(Boolean) });
  try {
    const fleet = await createSimFleet(cp.httpUrl, cp.apiKey);
    const creds = await provisionDevices({
      apiUrl: cp.httpUrl,
      apiKey: cp.apiKey,
      fleetId: fleet.id,
      count: flags.devices,
      registerConcurrency: 16,
    });
    const sim = await LoadFleet.start(creds, flags.processes);
    await sim.connect({
      mqttUrl: cp.mqttUrl,
      telemetryEverySeconds: flags['telemetry-every'],
      applySeconds: flags.apply,
      connectConcurrency: 1000,
      realistic: true,
    });
    console.log(`${(await sim.counts()).connected} devices connected (${sim.pids.length} load processes)`);
    const release = await apiJson<ReleaseView>(cp.httpUrl, cp.apiKey, '/api/v1/releases', {
      method: 'POST',
      body: manifest('1.0.0'),
      headers: { 'content-type': 'application/yaml' },
    });
    const usage = new UsageMeter(cp.pid).start();
    // The control plane's CPU until every device has its message: the fan-out's own cost, beside the bare broker's.
    const untilReceived = new UsageMeter(cp.pid).start();
    const viaFleet = flags['fleet-target'] === 1;
    const t0 = epochNow();
    let rolloutId = '';
    let fleetJob = '';
    if (viaFleet) {
      fleetJob = (
        await apiJson<SetFleetTargetResponse>(cp.httpUrl, cp.apiKey, `/api/v1/fleets/${fleet.id}/target`, {
          method: 'PUT',
          body: JSON.stringify({ releaseId: release.id }),
        })
      ).job.id;
    } else {
      rolloutId = (
        await apiJson<RolloutView>(cp.httpUrl, cp.apiKey, '/api/v1/rollouts', {
          method: 'POST',
          body: JSON.stringify({ releaseId: release.id, selection: { fleetId: fleet.id } }),
        })
      ).id;
    }
    const apiMs = epochNow() - t0;
    // Polled, but timed by the devices' own clocks (Timings); the CPU meter stops up to 20 ms late.
    await waitFor(async () => (await sim.counts()).desiredReceived >= flags.devices, 300_000, 'every device received the release', 20);
    const fanoutCpu = untilReceived.stop().cpuSeconds;
    await waitFor(async () => (await sim.counts()).committed >= flags.devices, 300_000, 'every device committed', 100);
    let completedMs = NaN;
    if (rolloutId) {
      await waitFor(
        async () => (await apiJson<RolloutView>(cp.httpUrl, cp.apiKey, `/api/v1/rollouts/${rolloutId}`)).status === 'completed',
        300_000,
        'rollout completed',
        250,
      );
      completedMs = epochNow() - t0;
    } else {
      await waitFor(
        async () =>
          (await apiJson<FleetTargetJobView>(cp.httpUrl, cp.apiKey, `/api/v1/fleet-target-jobs/${fleetJob}`)).status === 'completed',
        300_000,
        'fleet-target job completed',
        250,
      );
      completedMs = epochNow() - t0;
    }
    const cpu = usage.stop();
    const timings = await sim.timings();
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
    await sim.stop();
    // The control plane stops before the baseline runs, so the two do not share the machine.
    await cp.stop();
    const bytes = timings.desiredBytes;
    const bare = await bareBroker(flags.devices, bytes);
    const flotillaMax = r[r.length - 1]!;
    printTable([
      {
        side: 'bare aedes',
        messages: flags.devices,
        'bytes each': bytes,
        'received p50 ms': bare.p50,
        'received max ms': bare.max,
        'server CPU µs per message': ((bare.cpuSeconds * 1e6) / flags.devices).toFixed(0),
      },
      {
        side: 'Flotilla',
        messages: flags.devices,
        'bytes each': bytes,
        'received p50 ms': percentile(r, 50),
        'received max ms': flotillaMax,
        'server CPU µs per message': ((fanoutCpu * 1e6) / flags.devices).toFixed(0),
      },
    ]);
    console.log(
      `ratio Flotilla / bare broker, received by all: ${(flotillaMax / bare.max).toFixed(2)} (p50 ${(percentile(r, 50) / bare.p50).toFixed(2)}); server CPU per message ${(fanoutCpu / bare.cpuSeconds).toFixed(2)}`,
    );
  } finally {
    await cp.close();
  }
}

/** The same number of distinct messages through a bare aedes (support/bare-fanout.ts) to as many subscribed clients. */
async function bareBroker(count: number, bytes: number): Promise<{ p50: number; max: number; cpuSeconds: number }> {
  const port = await freePort();
  const child = fork(join(__dirname, 'support', 'bare-fanout.ts'), [String(port)], {
    execArgv: ['-r', '@swc-node/register'],
    env: { ...process.env, SWC_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.json') },
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bare broker exited (${code})`)));
    child.once('message', () => resolve());
  });
  const clients: MqttClient[] = [];
  const receivedAt: number[] = [];
  let t0 = Infinity;
  try {
    for (let i = 0; i < count; i += 1000) {
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(1000, count - i) }, async (_, j) => {
            const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
              clientId: `bare-${i + j}`,
              protocolVersion: 4,
              reconnectPeriod: 0,
            });
            client.on('message', () => receivedAt.push(performance.now() - t0));
            await client.subscribeAsync(`bare/${i + j}`, { qos: 1 });
            return client;
          }),
        )),
      );
    }
    const usage = new UsageMeter(child.pid!).start();
    t0 = performance.now();
    child.send({ count, bytes });
    await waitFor(() => receivedAt.length >= count, 300_000, 'every bare client received its message', 20);
    const { cpuSeconds } = usage.stop();
    const sorted = [...receivedAt].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), max: sorted[sorted.length - 1]!, cpuSeconds };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    child.removeAllListeners('exit');
    child.kill();
  }
}

runBench(main);
