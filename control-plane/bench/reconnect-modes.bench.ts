import { DEVICE_RECONNECT_POLICY, type ReleaseView } from '@flotilla/shared';
import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { manifest } from '../src/testing/sim-fleet';
import {
  apiJson,
  connectDevices,
  createSimFleet,
  provisionDevices,
  type SimCredential,
  type SimulationOptions,
} from '../../cli/src/sim/simulation';
import { ControlPlaneProcess, numberFlags, procUsage, waitFor } from './support/control-plane-process';
import { nodeArgsFrom } from './support/node-args';

/**
 * reconnect-modes: the reconnect bench (`reconnect.bench.ts`) as a comparison of device schedules. N devices connected and committed on a release; the control plane (with its
 * broker) stops (SIGTERM) and starts again. Time until every device is connected again, marked
 * online, and holds its desired state (reported rev = desired rev), how many desired states
 * were sent again (0 is right: nothing changed), and the storm itself: the most devices that
 * connected within one second. Run twice in one sitting on the same fleet: devices retrying at a
 * fixed period (as before the reconnect schedule) and devices on the agent's schedule
 * (shared/src/protocol/reconnect.ts: full jitter, 1 s doubling to 60 s).
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, 'reconnect-ms': 2000 });
  console.log(machineLine());
  const cp = await ControlPlaneProcess.start({ nodeArgs: nodeArgsFrom('CP_NODE_ARGS') });
  try {
    const fleet = await createSimFleet(cp.httpUrl, cp.apiKey);
    const creds = await provisionDevices({
      apiUrl: cp.httpUrl,
      apiKey: cp.apiKey,
      fleetId: fleet.id,
      count: flags.devices,
      registerConcurrency: 16,
    });
    const modes: Array<{ label: string; options: Pick<SimulationOptions, 'reconnect' | 'reconnectPeriodMs'> }> = [
      { label: `fixed ${flags['reconnect-ms']} ms period`, options: { reconnectPeriodMs: flags['reconnect-ms'] } },
      { label: 'backoff, full jitter (agent)', options: { reconnect: DEVICE_RECONNECT_POLICY } },
    ];
    const rows: Array<Record<string, string | number>> = [];
    for (const [i, mode] of modes.entries()) {
      // A release per round: its assignment reaches every connected device at once (a second round's
      // fresh devices would otherwise depend on desired/get alone, which a loaded control plane can drop).
      const release = await apiJson<ReleaseView>(cp.httpUrl, cp.apiKey, '/api/v1/releases', {
        method: 'POST',
        body: manifest(`1.0.${i}`),
        headers: { 'content-type': 'application/yaml' },
      });
      rows.push({ mode: mode.label, ...(await restartRound(cp, fleet.id, release, creds, flags.devices, mode.options)) });
    }
    printTable(rows);
    const peak = (row: Record<string, string | number>) => Number(row['busiest second (connects)']);
    console.log(`busiest second, fixed period / schedule: ${(peak(rows[0]!) / peak(rows[1]!)).toFixed(1)}×`);
  } finally {
    await cp.close();
  }
}

/** One round: connect the fleet with these reconnect settings, commit the release, restart the control plane, time the return. */
async function restartRound(
  cp: ControlPlaneProcess,
  fleetId: string,
  release: ReleaseView,
  creds: readonly SimCredential[],
  devices: number,
  reconnect: Pick<SimulationOptions, 'reconnect' | 'reconnectPeriodMs'>,
): Promise<Record<string, string | number>> {
  let desiredAfterRestart = 0;
  let restarted = false;
  const sim = await connectDevices(creds, {
    mqttUrl: cp.mqttUrl,
    telemetryEverySeconds: 0,
    applySeconds: 0.5,
    connectConcurrency: 1000,
    ...reconnect,
    realistic: false,
    onDesired: () => {
      if (restarted) desiredAfterRestart++;
    },
  });
  try {
    await apiJson(
      cp.httpUrl,
      cp.apiKey,
      `/api/v1/fleets/${fleetId}/target`,
      {
        method: 'PUT',
        body: JSON.stringify({ releaseId: release.id }),
      },
      // A background job since the fleet target moved off the request (202).
      [202],
    );
    // A second round's devices are new objects holding nothing yet: they commit the release again.
    await waitFor(() => sim.counts().committed >= devices, 300_000, 'every device committed before the restart');
    const holding = async (): Promise<number> =>
      (
        await cp.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM devices WHERE online AND desired_release_id = $1 AND (reported->>'rev')::int = desired_rev
             AND reported->'update'->'active'->>'releaseId' = $1::text`,
          [release.id],
        )
      )[0]!.n;
    await waitFor(async () => (await holding()) >= devices, 120_000, 'every device online and holding its desired state', 250);
    console.log(`${devices} devices connected and committed on ${release.version}; restarting the control plane`);

    const t0 = performance.now();
    restarted = true;
    // The storm as the devices see it: connected devices sampled every 100 ms, their rise per second.
    const connectedAt: Array<{ at: number; n: number }> = [];
    const sampler = setInterval(() => connectedAt.push({ at: performance.now() - t0, n: sim.counts().connected }), 100);
    await cp.stop();
    const stopMs = performance.now() - t0;
    const startMs = await cp.launch();
    const connectedMs =
      (await waitFor(() => sim.counts().connected >= devices, 600_000, 'every device connected again')) + stopMs + startMs;
    clearInterval(sampler);
    console.log(`all ${devices} connected again (MQTT) ${(connectedMs / 1000).toFixed(1)} s after SIGTERM`);
    const online = async (): Promise<number> =>
      (await cp.db.query<{ n: number }>('SELECT count(*)::int AS n FROM devices WHERE online'))[0]!.n;
    // A presence write that fails under load leaves a connected device offline until it reconnects:
    // report how far it got instead of only timing out.
    const milestone = async (what: string, count: () => Promise<number>, after: number): Promise<number | string> => {
      try {
        const ms = (await waitFor(async () => (await count()) >= devices, 60_000, what, 250)) + after;
        console.log(`${what}: ${(ms / 1000).toFixed(1)} s after SIGTERM`);
        return ms;
      } catch {
        const n = await count();
        console.log(`${what}: NOT reached; ${n}/${devices} after a further 60 s`);
        return `${n}/${devices} (not all)`;
      }
    };
    const t1 = performance.now() - t0;
    const onlineMs = await milestone('every device online (DB)', online, t1);
    const t2 = performance.now() - t0;
    const holdingMs = await milestone('every device online and holding its desired state (DB)', holding, t2);
    const usage = procUsage(cp.pid);
    return {
      devices,
      'stop ms': stopMs,
      'start ms': startMs,
      'busiest second (connects)': busiestSecond(connectedAt),
      'all connected ms': connectedMs,
      'all online (DB) ms': onlineMs,
      'all holding desired ms': holdingMs,
      'desired re-sent': desiredAfterRestart,
      'cp CPU s (new process)': usage.cpuSeconds,
      'cp RSS MiB': usage.rssMiB.toFixed(0),
    };
  } finally {
    await sim.stop();
  }
}

/** The largest rise of the connected count within one second (10 samples of 100 ms). */
function busiestSecond(samples: ReadonlyArray<{ at: number; n: number }>): number {
  let best = 0;
  for (let i = 0, j = 0; j < samples.length; j++) {
    while (samples[j]!.at - samples[i]!.at > 1_000) i++;
    best = Math.max(best, samples[j]!.n - Math.min(...samples.slice(i, j + 1).map((s) => s.n)));
  }
  return best;
}

runBench(main);
