import { DEVICE_RECONNECT_POLICY, VerifiedSignatures } from '@flotilla/shared';
import type {
  Desired,
  FleetView,
  HostPolicy,
  ProvisioningTokenView,
  ReconnectPolicy,
  RegisterDeviceResponse,
  ReleaseKey,
} from '@flotilla/shared';
import { newDeviceKeyAndCsr } from './device-key';
import { countFleet, type SimulationCounts } from './fleet-counts';
import { SimDevice } from './sim-device';
import type { SimTls, UpdateBehavior } from './sim-device-options';

export interface SimulationOptions {
  /** The control plane's API, e.g. http://127.0.0.1:3000. */
  apiUrl: string;
  /** An operator key allowed to create fleets and provisioning tokens. */
  apiKey: string;
  devices: number;
  /** Devices keep persistent MQTT sessions (clean = false) as the agent does; default clean sessions. */
  persistentSession?: boolean;
  /** Join this fleet; when absent a fleet `sim-<time>` is created. */
  fleetId?: string;
  /** For the fleet created: what its releases may do to the hosts (`PUT …/host-policy`, admin key). */
  fleetHostPolicy?: HostPolicy;
  /** Broker URL; default: the one the control plane hands out at registration. */
  mqttUrl?: string;
  namePrefix?: string;
  /** Telemetry period per device; 0 sends none. Default 10. */
  telemetryEverySeconds?: number;
  /** Time from a new desired release to commit or rollback. Default 5. */
  applySeconds?: number;
  /** Probability that an update fails its probation and is rolled back (with a reason). Default 0. */
  failureRate?: number;
  /**
   * Devices (by their number, the N of `<prefix>-N`) whose every update fails its probation,
   * besides those `failureRate` picks: a demo that fails the same way each time.
   */
  failingDevices?: readonly number[];
  /** Probability that an update never finishes (stays in probation). Default 0. */
  hangRate?: number;
  /** Registrations in flight at once (each costs the control plane a password hash). Default 16. */
  registerConcurrency?: number;
  /** MQTT connects in flight at once. Default 500. */
  connectConcurrency?: number;
  /** Given the fleet before its devices connect, so that a long storm's progress can be counted. */
  onFleet?: (fleet: SimulatedFleet) => void;
  /** Reconnects after the broker went away. Default: the agent's schedule (DEVICE_RECONNECT_POLICY). */
  reconnect?: ReconnectPolicy;
  /** A fixed reconnect period instead of the schedule (devices before it; benchmarks compare). */
  reconnectPeriodMs?: number;
  /** Send inventory and update events as an agent does. Default true. */
  realistic?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Per device hooks, e.g. for a benchmark's timings. */
  onDesired?: (device: SimDevice, desired: Desired, payload: Buffer) => void;
  /** Called on every connect of every device (its CONNACK), first and after each reconnect. */
  onConnect?: (device: SimDevice) => void;
  onSettled?: (device: SimDevice, outcome: 'commit' | 'rollback', rev: number) => void;
  random?: () => number;
}

export type { SimulationCounts };

export interface Simulation {
  fleetId: string;
  devices: SimDevice[];
  /** Milliseconds spent registering through the API and connecting over MQTT. */
  timings: { registerMs: number; connectMs: number };
  counts(): SimulationCounts;
  stop(): Promise<void>;
}

/** The devices of a simulation, whether or not they are connected yet. */
export type SimulatedFleet = Pick<Simulation, 'devices' | 'counts' | 'stop'>;

export interface SimCredential {
  deviceId: string;
  password?: string;
  mqttUrl: string;
  /** Pinned as an agent pins them: the simulated device verifies every desired state with them. */
  releaseKeys?: ReleaseKey[];
  /** Over TLS: the CAs from the provisioning file (and a client certificate, if the device has one). */
  tls?: SimTls;
}

/** fetch against the API with the operator key, failing with the response text on an unexpected status. */
export async function apiJson<T>(
  apiUrl: string,
  apiKey: string | null,
  path: string,
  init: RequestInit = {},
  expected = [200, 201],
): Promise<T> {
  const headers = new Headers(init.headers);
  if (apiKey) headers.set('authorization', `Bearer ${apiKey}`);
  if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await fetch(`${apiUrl}${path}`, { ...init, headers });
  const text = await res.text();
  if (!expected.includes(res.status)) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Creates a fleet for the simulation. */
export async function createSimFleet(apiUrl: string, apiKey: string, name = `sim-${Date.now()}`): Promise<FleetView> {
  return apiJson<FleetView>(apiUrl, apiKey, '/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name }) });
}

/**
 * Registers `count` devices through the real API with one fleet-scoped provisioning token
 * (maxUses = count), `concurrency` registrations at a time. With `certificates`, each device
 * makes its own key and sends a CSR, as the agent does, and gets a client certificate.
 */
export async function provisionDevices(
  options: Pick<SimulationOptions, 'apiUrl' | 'apiKey' | 'registerConcurrency' | 'namePrefix' | 'log'> & {
    fleetId: string;
    count: number;
    certificates?: boolean;
  },
): Promise<SimCredential[]> {
  const { apiUrl, apiKey, fleetId, count } = options;
  const token = await apiJson<ProvisioningTokenView>(apiUrl, apiKey, '/api/v1/provisioning-tokens', {
    method: 'POST',
    body: JSON.stringify({ maxUses: count, fleetId }),
  });
  const prefix = options.namePrefix ?? 'sim';
  const ca = token.provisioning.caCertificates;
  const result = await pool(count, options.registerConcurrency ?? 16, async (i) => {
    const name = `${prefix}-${i}`;
    const own = options.certificates ? await newDeviceKeyAndCsr(name) : undefined;
    const r = await registerRetrying(apiUrl, { token: token.token, name, board: 'rpi4', ...(own ? { csr: own.csrPem } : {}) });
    if ((i + 1) % 1000 === 0) options.log?.(`registered ${i + 1}/${count}`);
    // Over TLS a device verifies the broker with the provisioning file's CAs only.
    const client = own && r.certificate ? { cert: r.certificate, key: own.keyPem } : {};
    return {
      deviceId: r.deviceId,
      password: r.password,
      mqttUrl: r.mqttUrl,
      releaseKeys: r.releaseKeys,
      ...(ca ? { tls: { ca, ...client } } : {}),
    };
  });
  return result;
}

/** Times a registration is asked again after a 503 (the database busy), as an agent retries it. */
const REGISTER_ATTEMPTS = 10;

/**
 * One registration, asked again on 503 after its Retry-After: the control plane answers 503 only
 * when its transaction rolled back (nothing written, no use of the token taken), so a retry
 * registers the device once.
 */
async function registerRetrying(apiUrl: string, body: object): Promise<RegisterDeviceResponse> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${apiUrl}/api/v1/devices/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status === 201) return JSON.parse(text) as RegisterDeviceResponse;
    if (res.status !== 503 || attempt >= REGISTER_ATTEMPTS) {
      throw new Error(`POST /api/v1/devices/register: HTTP ${res.status} (attempt ${attempt}): ${text.slice(0, 300)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get('retry-after') ?? 1) * 1000));
  }
}

/** Provisions and connects a simulated fleet; devices then run until `stop()`. */
export async function runSimulation(options: SimulationOptions): Promise<Simulation> {
  const log = options.log ?? (() => undefined);
  const fleetId = options.fleetId ?? (await createSimFleet(options.apiUrl, options.apiKey)).id;
  if (!options.fleetId && options.fleetHostPolicy) {
    await apiJson(options.apiUrl, options.apiKey, `/api/v1/fleets/${fleetId}/host-policy`, {
      method: 'PUT',
      body: JSON.stringify(options.fleetHostPolicy),
    });
  }
  const t0 = performance.now();
  const credentials = await provisionDevices({ ...options, fleetId, count: options.devices });
  const registerMs = performance.now() - t0;
  log(`registered ${credentials.length} devices in ${(registerMs / 1000).toFixed(1)} s`);
  const t1 = performance.now();
  const fleet = await connectDevices(credentials, options);
  const connectMs = performance.now() - t1;
  log(`connected ${fleet.devices.length} devices in ${(connectMs / 1000).toFixed(1)} s`);
  return { fleetId, ...fleet, timings: { registerMs, connectMs } };
}

/** Connects already registered devices (benchmarks time registration and connection apart). */
export async function connectDevices(
  credentials: readonly SimCredential[],
  options: Omit<SimulationOptions, 'apiUrl' | 'apiKey' | 'devices'>,
): Promise<SimulatedFleet> {
  const random = options.random ?? Math.random;
  const failureRate = options.failureRate ?? 0;
  const hangRate = options.hangRate ?? 0;
  const realistic = options.realistic ?? true;
  const tally = { committed: 0, rolledBack: 0, desiredReceived: 0 };
  const failing = new Set(options.failingDevices ?? []);
  const verifiedSignatures = new VerifiedSignatures();
  const behaviorOf =
    (index: number) =>
    (_desired: Desired): UpdateBehavior => {
      if (failing.has(index)) return 'rollback';
      const roll = random();
      return roll < hangRate ? 'hang' : roll < hangRate + failureRate ? 'rollback' : 'commit';
    };
  const devices = credentials.map(
    (c, index) =>
      new SimDevice({
        mqttUrl: options.mqttUrl ?? c.mqttUrl,
        deviceId: c.deviceId,
        ...(c.password ? { password: c.password } : {}),
        ...(c.releaseKeys ? { releaseKeys: c.releaseKeys } : {}),
        verifiedSignatures,
        ...(c.tls ? { tls: c.tls } : {}),
        behavior: behaviorOf(index),
        updateMs: (options.applySeconds ?? 5) * 1000,
        ...(options.reconnectPeriodMs !== undefined
          ? { reconnectPeriodMs: options.reconnectPeriodMs }
          : { reconnect: options.reconnect ?? DEVICE_RECONNECT_POLICY }),
        connectAttempts: 20,
        ...(options.persistentSession ? { persistentSession: true } : {}),
        telemetryEveryMs: (options.telemetryEverySeconds ?? 10) * 1000,
        inventory: realistic,
        events: realistic,
        random,
        onDesired: (device, desired, payload) => {
          tally.desiredReceived++;
          options.onDesired?.(device, desired, payload);
        },
        ...(options.onConnect ? { onConnect: options.onConnect } : {}),
        onSettled: (device, outcome, rev) => {
          if (outcome === 'commit') tally.committed++;
          else tally.rolledBack++;
          options.onSettled?.(device, outcome, rev);
        },
      }),
  );
  const fleet: SimulatedFleet = {
    devices,
    counts: () => countFleet(devices, tally),
    stop: async () => {
      await pool(devices.length, 1000, (i) => devices[i]!.stop());
    },
  };
  options.onFleet?.(fleet);
  let started = 0;
  await pool(devices.length, options.connectConcurrency ?? 500, async (i) => {
    await devices[i]!.start();
    if (++started % 1000 === 0) options.log?.(`connected ${started}/${devices.length}`);
  });
  return fleet;
}

/** Runs `task(0…count-1)` with at most `concurrency` in flight; results in index order. */
export async function pool<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
