import { loadavg } from 'node:os';
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
 *          [--persistent 1] (persistent sessions as the agent keeps them: a quorum queue per device, no mirrored classic queue)
 */
// A storm of 10,000 through the auth backend took ~15 minutes at load average ~30 on this 2-core box.
const SETTLE_TIMEOUT_MS = 2_700_000;
const PROGRESS_EVERY_MS = 30_000;

async function main(): Promise<void> {
  const flags = numberFlags(process.argv.slice(2), {
    devices: 10_000,
    every: 10,
    pause: 10,
    processes: 2,
    concurrency: 500,
    persistent: 0,
  });
  console.log(machineLine());
  console.log(
    `${flags.devices} devices (${flags.persistent ? 'persistent' : 'clean'} sessions), telemetry every ${flags.every} s; ` +
      `3 replicas restarted one by one, ${flags.pause} s apart`,
  );
  const load = new LoadAverage();
  const t00 = performance.now();
  const shape = await startCluster(flags.devices);
  // A run stopped by hand (it can take most of an hour) still stops its nodes, replicas and HAProxy and drops its database.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void shape.close().finally(() => process.exit(130)));
  try {
    let t = performance.now();
    const fleet = await provisionFleet(shape, flags.devices);
    const registerS = (performance.now() - t) / 1000;
    const n = fleet.creds.length;
    console.log(`registered ${n} devices in ${registerS.toFixed(0)} s; connecting…`);
    const sim = await LoadFleet.start(fleet.creds, flags.processes);
    try {
      t = performance.now();
      const progress = setInterval(
        () =>
          void sim
            .counts()
            .then((c) =>
              console.log(
                `  ${elapsedS(t)} s: ${c.connected}/${n} connected, ${c.desiredReceived} holding their desired state, load ${loadavg()[0]!.toFixed(1)}`,
              ),
            ),
        PROGRESS_EVERY_MS,
      );
      try {
        await sim.connect({
          telemetryEverySeconds: flags.every,
          applySeconds: 0.5,
          connectConcurrency: flags.concurrency,
          realistic: false,
          ...(flags.persistent ? { persistentSession: true } : {}),
        });
        await waitFor(
          async () => (await sim.counts()).desiredReceived >= n,
          SETTLE_TIMEOUT_MS,
          'every device holding its desired state',
          250,
        );
      } finally {
        clearInterval(progress);
      }
      const stormS = (performance.now() - t) / 1000;
      const before = await sim.counts();
      console.log(
        `${before.connected}/${n} devices connected, each with its desired state, after ${stormS.toFixed(0)} s; restarting the replicas…`,
      );
      const t0 = performance.now();
      const restarts: number[] = [];
      for (const replica of shape.replicas) {
        await sleep(flags.pause * 1000);
        const down = performance.now();
        await replica.stop();
        await replica.launch();
        restarts.push((performance.now() - down) / 1000);
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
          'register s': registerS,
          'connect+desired s': stormS,
          'restart s (each)': restarts.map((s) => s.toFixed(1)).join(' / '),
          'rolling s': rollingS,
          'connected after': `${after.connected}/${n}`,
          'connections dropped': after.disconnects - before.disconnects,
          'reports sent': after.telemetrySent,
          'rows stored': stored,
          'reports lost': Math.max(0, after.telemetrySent - stored),
          'wall s': (performance.now() - t00) / 1000,
          'load avg (1 min) mean / max': load.summary(),
        },
      ]);
      console.log('must be 0: connections dropped, reports lost');
    } finally {
      await sim.stop();
    }
  } finally {
    load.stop();
    await shape.close();
  }
}

const elapsedS = (since: number): string => ((performance.now() - since) / 1000).toFixed(0);

/** The machine's 1-minute load average, sampled every 10 s over the run (others' work included). */
class LoadAverage {
  private readonly samples: number[] = [loadavg()[0]!];
  private readonly timer = setInterval(() => this.samples.push(loadavg()[0]!), 10_000);
  summary(): string {
    const mean = this.samples.reduce((s, x) => s + x, 0) / this.samples.length;
    return `${mean.toFixed(1)} / ${Math.max(...this.samples).toFixed(1)}`;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

runBench(main);
