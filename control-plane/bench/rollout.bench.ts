import type { ReleaseView, RolloutView } from '@flotilla/shared';
import { machineLine, percentile, printTable, runBench } from '../../test/bench/machine';
import { manifest } from '../src/testing/sim-fleet';
import { apiJson, connectDevices, createSimFleet, provisionDevices } from '../src/sim/simulation';
import { ControlPlaneProcess, numberFlags, UsageMeter, waitFor } from './support/control-plane-process';

/**
 * rollout: one release to N connected devices, by a rollout over their fleet (one phase, 100 %)
 * or, with `--fleet-target 1`, by setting the fleet's target release. Times from the API call
 * until each device received its desired state, and until every device has committed.
 */
async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, apply: 2, 'fleet-target': 0, 'telemetry-every': 0 });
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
    let t0 = Infinity;
    const receivedAt: number[] = [];
    const committedAt: number[] = [];
    const sim = await connectDevices(creds, {
      mqttUrl: cp.mqttUrl,
      telemetryEverySeconds: flags['telemetry-every'],
      applySeconds: flags.apply,
      connectConcurrency: 1000,
      realistic: true,
      onDesired: () => receivedAt.push(performance.now() - t0),
      onSettled: () => committedAt.push(performance.now() - t0),
    });
    console.log(`${sim.counts().connected} devices connected`);
    const release = await apiJson<ReleaseView>(cp.httpUrl, cp.apiKey, '/api/v1/releases', {
      method: 'POST',
      body: manifest('1.0.0'),
      headers: { 'content-type': 'application/yaml' },
    });
    const usage = new UsageMeter(cp.pid).start();
    const viaFleet = flags['fleet-target'] === 1;
    t0 = performance.now();
    let rolloutId = '';
    if (viaFleet) {
      await apiJson(cp.httpUrl, cp.apiKey, `/api/v1/fleets/${fleet.id}/target`, {
        method: 'PUT',
        body: JSON.stringify({ releaseId: release.id }),
      });
    } else {
      rolloutId = (
        await apiJson<RolloutView>(cp.httpUrl, cp.apiKey, '/api/v1/rollouts', {
          method: 'POST',
          body: JSON.stringify({ releaseId: release.id, selection: { fleetId: fleet.id } }),
        })
      ).id;
    }
    const apiMs = performance.now() - t0;
    await waitFor(() => receivedAt.length >= flags.devices, 300_000, 'every device received the release');
    await waitFor(() => committedAt.length >= flags.devices, 300_000, 'every device committed');
    let completedMs = NaN;
    if (rolloutId) {
      await waitFor(
        async () => (await apiJson<RolloutView>(cp.httpUrl, cp.apiKey, `/api/v1/rollouts/${rolloutId}`)).status === 'completed',
        300_000,
        'rollout completed',
        250,
      );
      completedMs = performance.now() - t0;
    }
    const cpu = usage.stop();
    const r = [...receivedAt].sort((a, b) => a - b);
    const c = [...committedAt].sort((a, b) => a - b);
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
        'rollout completed ms': viaFleet ? '' : completedMs,
        'cp CPU s': cpu.cpuSeconds,
        'cp RSS MiB': cpu.peakRssMiB.toFixed(0),
      },
    ]);
    await sim.stop();
  } finally {
    await cp.close();
  }
}

runBench(main);
