import { DEVICE_RECONNECT_POLICY } from '@flotilla/shared/device';
import { AgentError } from './support/errors';
import type { LogLevel } from './support/logger';

export class ConfigError extends AgentError {
  readonly code = 'config-invalid';
  constructor(variable: string, value: string, expected: string) {
    super(
      `environment variable ${variable}="${value}" is invalid: expected ${expected}; fix the agent's environment (systemd unit or container)`,
      { terminal: true },
    );
  }
}

export interface AgentConfig {
  provisioningPath: string;
  stateDir: string;
  /** Where `status.json` for apps on the board goes (a tmpfs: it describes now, not history). */
  statusDir: string;
  /** Root of the host file system for board probes; `/host` when the agent runs in a container with `/` mounted there. */
  hostRoot: string;
  /** The board spec name, when the device tree cannot tell (or to override it). */
  board: string | undefined;
  telemetryIntervalMs: number;
  telemetrySampleMs: number;
  reportIntervalMs: number;
  inventoryIntervalMs: number;
  reconcileIntervalMs: number;
  healthTimeoutMs: number;
  /** How long an OS trial boot may take to pass its checks before the agent falls back. */
  osTrialTimeoutMs: number;
  /** The first connect after boot falls at random within this window (0: at once; tests). */
  connectSpreadMs: number;
  diskReserveBytes: number;
  unknownImageBytes: number;
  /** Extra label on every engine object this agent manages, for several agents on one engine (simulations, tests). */
  scopeLabel: { key: string; value: string } | undefined;
  /** Crash tests only: stop dead at a phase (`switch`, or `switch:after` once its action is done). */
  logLevel: LogLevel;
}

/**
 * The agent's settings, from the environment only: a device has no config UI, and the
 * provisioning file on the boot partition is for what the control plane hands out.
 * The engine address is read from DOCKER_HOST by `EngineClient.fromEnv` (default: the
 * unix socket /var/run/docker.sock).
 */
export function readConfig(env: NodeJS.ProcessEnv): AgentConfig {
  const telemetryIntervalMs = milliseconds(env, 'FLOTILLA_TELEMETRY_INTERVAL_MS', 60_000);
  return {
    provisioningPath: env.FLOTILLA_PROVISIONING || '/boot/firmware/flotilla/provisioning.json',
    stateDir: env.FLOTILLA_STATE_DIR || '/var/lib/flotilla',
    statusDir: env.FLOTILLA_STATUS_DIR || '/run/flotilla',
    hostRoot: env.FLOTILLA_HOST_ROOT || '/',
    board: env.FLOTILLA_BOARD || undefined,
    telemetryIntervalMs,
    // At most one sample per batch interval by default: a batch is never empty.
    telemetrySampleMs: milliseconds(env, 'FLOTILLA_TELEMETRY_SAMPLE_MS', Math.min(10_000, telemetryIntervalMs)),
    reportIntervalMs: milliseconds(env, 'FLOTILLA_REPORT_INTERVAL_MS', 10_000),
    inventoryIntervalMs: milliseconds(env, 'FLOTILLA_INVENTORY_INTERVAL_MS', 10 * 60_000),
    reconcileIntervalMs: milliseconds(env, 'FLOTILLA_RECONCILE_INTERVAL_MS', 30_000),
    healthTimeoutMs: milliseconds(env, 'FLOTILLA_HEALTH_TIMEOUT_MS', 120_000),
    osTrialTimeoutMs: milliseconds(env, 'FLOTILLA_OS_TRIAL_TIMEOUT_MS', 5 * 60_000),
    connectSpreadMs: spreadWindow(env, 'FLOTILLA_CONNECT_SPREAD_MS', DEVICE_RECONNECT_POLICY.bootSpreadMs),
    diskReserveBytes: bytes(env, 'FLOTILLA_DISK_RESERVE_BYTES', 256 * 1024 * 1024),
    unknownImageBytes: bytes(env, 'FLOTILLA_UNKNOWN_IMAGE_BYTES', 512 * 1024 * 1024),
    scopeLabel: scopeLabel(env.FLOTILLA_SCOPE_LABEL),
    logLevel: logLevel(env.FLOTILLA_LOG_LEVEL),
  };
}

function milliseconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  // Below a second the timers would keep a small board busy for nothing.
  if (!Number.isInteger(value) || value < 1_000) throw new ConfigError(name, raw, 'a whole number of milliseconds, at least 1000');
  return value;
}

/** A random-delay window: 0 turns it off, and more than an hour is surely a unit mistake. */
function spreadWindow(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 3_600_000)
    throw new ConfigError(name, raw, 'a whole number of milliseconds, 0 to 3600000');
  return value;
}

function bytes(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(name, raw, 'a whole number of bytes');
  return value;
}

function scopeLabel(raw: string | undefined): AgentConfig['scopeLabel'] {
  if (raw === undefined || raw === '') return undefined;
  const match = /^([a-z0-9._-]+)=([A-Za-z0-9._-]+)$/.exec(raw);
  if (!match) throw new ConfigError('FLOTILLA_SCOPE_LABEL', raw, 'key=value (letters, digits, . _ -)');
  return { key: match[1]!, value: match[2]! };
}

function logLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === '') return 'info';
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  throw new ConfigError('FLOTILLA_LOG_LEVEL', raw, 'debug, info, warn or error');
}
