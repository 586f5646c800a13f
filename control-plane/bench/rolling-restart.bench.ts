import { machineLine, printTable, runBench } from '../../test/bench/machine';
import { numberFlags, sleep, waitFor } from './support/control-plane-process';
import { provisionFleet, startCluster, storedSamples } from './support/cluster-shape';
import { LoadFleet } from './support/load-fleet';

/**
 * rolling-restart (issue #14): the cluster shape (3 control-plane replicas, 3 RabbitMQ nodes,
 * HAProxy; support/cluster-shape.ts) with N connected devices, each sending telemetry every
 * `every` s; every replica is stopped (SIGTERM, orderly) and started again, one after the other,
 * `pause` s apart, while the others carry the uplink. Then the devices stop sending, and the
 * benchmark counts what must be 0: device connections dropped (the broker holds them, not the
 * replicas), and reports lost (samples sent minus rows in telemetry_samples).
 * Usage: npm run bench -- rolling-restart [--devices 10000] [--every 10] [--pause 10] [--processes 2] [--concurrency 500]
 */
// A storm of 10,000 through the auth backend takes minutes on a loaded 2-core box.
const SETTLE_TIMEOUT_MS = 600_000;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), { devices: 10_000, every: 10, pause: 10, processes: 2, concurrency: 500 });
  console.log(machineLine());
  console.log(`${flags.devices} devices, telemetry every ${flags.every} s; 3 replicas restarted one by one, ${flags.pause} s apart`);
  const shape = await startCluster(flags.devices);
  try {
    const fleet = await provisionFleet(shape, flags.devices);
    const sim = await LoadFleet.start(fleet.creds, flags.processes);
    try {
      await sim.connect({ telemetryEverySeconds: flags.every, applySeconds: 0.5, connectConcurrency: flags.concurrency, realistic: false });
      const n = fleet.creds.length;
      await waitFor(
        async () => (await sim.counts()).desiredReceived >= n,
        SETTLE_TIMEOUT_MS,
        'every device holding its desired state',
        250,
      );
      const before = await sim.counts();
      console.log(`${before.connected}/${n} devices connected; restarting the replicas…`);
      const t0 = performance.now();
      const restarts: number[] = [];
      for (const replica of shape.replicas) {
        await sleep(flags.pause * 1000);
        const t = performance.now();
        await replica.stop();
        await replica.launch();
        restarts.push((performance.now() - t) / 1000);
        console.log(`replica ${shape.replicas.indexOf(replica) + 1} back after ${restarts.at(-1)!.toFixed(1)} s`);
      }
      await sleep(flags.pause * 1000);
      const rollingS = (performance.now() - t0) / 1000;
      await sim.stopTelemetry();
      const after = await sim.counts();
      let stored = 0;
      await waitFor(
        async () => (stored = await storedSamples(shape)) >= after.telemetrySent,
        SETTLE_TIMEOUT_MS,
        'every report stored',
        500,
      ).catch((e: Error) => console.log(e.message));
      printTable([
        {
          devices: n,
          'restart s (each)': restarts.map((s) => s.toFixed(1)).join(' / '),
          'rolling s': rollingS,
          'connected after': `${after.connected}/${n}`,
          'connections dropped': after.disconnects - before.disconnects,
          'reports sent': after.telemetrySent,
          'rows stored': stored,
          'reports lost': Math.max(0, after.telemetrySent - stored),
        },
      ]);
      console.log('must be 0: connections dropped, reports lost');
    } finally {
      await sim.stop();
    }
  } finally {
    await shape.close();
  }
}

runBench(main);
