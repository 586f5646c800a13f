import type { SimulationOptions } from './simulation';

export interface SimArgs extends Omit<SimulationOptions, 'log' | 'random'> {
  /** Stop after this many seconds; 0 runs until SIGINT/SIGTERM. */
  durationSeconds: number;
}

export const SIM_USAGE = `usage: flotilla sim --devices N [options]
  --api-url URL            control plane API (default $FLOTILLA_API_URL or http://127.0.0.1:3000)
  --api-key KEY            operator key (default $FLOTILLA_API_KEY)
  --devices N              simulated devices (default 100)
  --fleet ID               join this fleet (default: create fleet sim-<time>)
  --mqtt-url URL           broker (default: the URL handed out at registration)
  --telemetry-every S      seconds between telemetry samples per device, 0 = none (default 10)
  --apply-seconds S        time to apply a release (default 5)
  --failure-rate P         probability an update is rolled back, 0..1 (default 0)
  --hang-rate P            probability an update never finishes, 0..1 (default 0)
  --connect-concurrency N  MQTT connects in flight (default 500)
  --duration S             stop after S seconds, 0 = until Ctrl-C (default 0)`;

export class SimArgsError extends Error {
  readonly code = 'SIM_BAD_ARGUMENT';
}

/** Parses `flotilla sim` arguments; pure (environment passed in). */
export function parseSimArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SimArgs {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const eq = flag.indexOf('=');
    const [name, inline] = eq > 0 ? [flag.slice(0, eq), flag.slice(eq + 1)] : [flag, undefined];
    if (!name.startsWith('--')) throw new SimArgsError(`unexpected argument "${flag}"\n${SIM_USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new SimArgsError(`${name} needs a value\n${SIM_USAGE}`);
    values.set(name.slice(2), value);
  }
  const known = [
    'api-url',
    'api-key',
    'devices',
    'fleet',
    'mqtt-url',
    'telemetry-every',
    'apply-seconds',
    'failure-rate',
    'hang-rate',
    'connect-concurrency',
    'duration',
  ];
  for (const name of values.keys()) if (!known.includes(name)) throw new SimArgsError(`unknown option --${name}\n${SIM_USAGE}`);
  const num = (name: string, fallback: number, min: number, max: number, integer = false): number => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new SimArgsError(`--${name} must be a${integer ? 'n integer' : ' number'} in ${min}..${max}, got "${raw}"`);
    }
    return n;
  };
  const apiKey = values.get('api-key') ?? env.FLOTILLA_API_KEY;
  if (!apiKey) throw new SimArgsError(`an operator key is needed: --api-key or FLOTILLA_API_KEY\n${SIM_USAGE}`);
  const args: SimArgs = {
    apiUrl: (values.get('api-url') ?? env.FLOTILLA_API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, ''),
    apiKey,
    devices: num('devices', 100, 1, 100_000, true),
    telemetryEverySeconds: num('telemetry-every', 10, 0, 86_400),
    applySeconds: num('apply-seconds', 5, 0, 3600),
    failureRate: num('failure-rate', 0, 0, 1),
    hangRate: num('hang-rate', 0, 0, 1),
    connectConcurrency: num('connect-concurrency', 500, 1, 100_000, true),
    durationSeconds: num('duration', 0, 0, 7 * 86_400),
  };
  if ((args.failureRate ?? 0) + (args.hangRate ?? 0) > 1) throw new SimArgsError('--failure-rate plus --hang-rate must not exceed 1');
  const fleet = values.get('fleet');
  if (fleet) args.fleetId = fleet;
  const mqttUrl = values.get('mqtt-url');
  if (mqttUrl) args.mqttUrl = mqttUrl;
  return args;
}
