import { connectDevices, type SimCredential, type SimulationCounts, type SimulationOptions } from '../../../cli/src/sim/simulation';
import { epochNow } from './load-fleet';

/**
 * One process of the load generator (LoadFleet): runs its share of simulated devices
 * (`connectDevices`, each a real MQTT connection) and answers the parent over IPC.
 * A process holds at most ~19,000 sockets here (`ulimit -n` 20,000), and one core's worth of
 * mqtt.js clients; several of them make a fleet of 50,000.
 */
export type WorkerOptions = Omit<
  SimulationOptions,
  'apiUrl' | 'apiKey' | 'devices' | 'log' | 'onDesired' | 'onSettled' | 'onConnect' | 'onFleet' | 'random'
>;

export type ToWorker =
  | { type: 'connect'; credentials: SimCredential[]; options: WorkerOptions; keepDesired?: boolean }
  | { type: 'counts' }
  | { type: 'timings' }
  | { type: 'desired-payloads' }
  | { type: 'stop-telemetry' }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'connected'; ms: number }
  | { type: 'counts'; counts: SimulationCounts; rssMiB: number }
  | { type: 'timings'; timings: Timings }
  | { type: 'desired-payloads'; payloads: DesiredPayload[] }
  | { type: 'stopped' }
  | { type: 'telemetry-stopped' }
  | { type: 'failed'; message: string };

/**
 * When each device received a new desired state and settled it, in ms since the epoch
 * (`epochNow`: comparable between processes), with the largest `desired` message's size;
 * `connects`: per device, when each of its connections came up (CONNACK), in order.
 */
export interface Timings {
  received: number[];
  settled: number[];
  desiredBytes: number;
  connects: number[][];
}

/** A device's last `desired` message as it arrived (base64) and when (`epochNow`), kept when `connect` asked for it (`keepDesired`). */
export interface DesiredPayload {
  deviceId: string;
  base64: string;
  at: number;
}

const timings: Timings = { received: [], settled: [], desiredBytes: 0, connects: [] };
const connectsOf = new Map<string, number[]>();
const lastDesired = new Map<string, { payload: Buffer; at: number }>();

function send(message: FromWorker): void {
  process.send!(message);
}

let fleet: Awaited<ReturnType<typeof connectDevices>> | undefined;

process.on('message', (message: ToWorker) => {
  void (async () => {
    try {
      if (message.type === 'connect') {
        const t0 = performance.now();
        await connectDevices(message.credentials, {
          ...message.options,
          onFleet: (created) => (fleet = created),
          onDesired: (device, _desired, payload) => {
            const at = epochNow();
            timings.received.push(at);
            timings.desiredBytes = Math.max(timings.desiredBytes, payload.length);
            if (message.keepDesired) lastDesired.set(device.deviceId, { payload, at });
          },
          onSettled: () => timings.settled.push(epochNow()),
          onConnect: (device) => {
            const at = epochNow();
            const list = connectsOf.get(device.deviceId);
            if (list) list.push(at);
            else connectsOf.set(device.deviceId, [at]);
          },
        });
        send({ type: 'connected', ms: performance.now() - t0 });
      } else if (message.type === 'counts') {
        const counts = fleet?.counts() ?? {
          devices: 0,
          connected: 0,
          desiredReceived: 0,
          committed: 0,
          rolledBack: 0,
          telemetrySent: 0,
          telemetryAcked: 0,
          connectFailures: 0,
          disconnects: 0,
        };
        send({ type: 'counts', counts, rssMiB: process.memoryUsage.rss() / 2 ** 20 });
      } else if (message.type === 'timings') {
        send({ type: 'timings', timings: { ...timings, connects: [...connectsOf.values()] } });
      } else if (message.type === 'desired-payloads') {
        const payloads = [...lastDesired].map(([deviceId, { payload, at }]) => ({ deviceId, base64: payload.toString('base64'), at }));
        send({ type: 'desired-payloads', payloads });
      } else if (message.type === 'stop-telemetry') {
        for (const device of fleet?.devices ?? []) device.stopTelemetry();
        send({ type: 'telemetry-stopped' });
      } else {
        await fleet?.stop();
        send({ type: 'stopped' });
        process.exit(0);
      }
    } catch (e) {
      send({ type: 'failed', message: (e as Error).stack ?? String(e) });
    }
  })();
});
// The parent went away: nothing to simulate for.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
