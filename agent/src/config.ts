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
  /** Root of the host file system for board probes; `/host` when the agent runs in a container with `/` mounted there. */
  hostRoot: string;
  telemetryIntervalMs: number;
  reportIntervalMs: number;
  reconcileIntervalMs: number;
  healthTimeoutMs: number;
  logLevel: LogLevel;
}

/**
 * The agent's settings, from the environment only: a device has no config UI, and the
 * provisioning file on the boot partition is for what the control plane hands out.
 * The engine address is read by dockerode itself from DOCKER_HOST (default: the unix
 * socket /var/run/docker.sock).
 */
export function readConfig(env: NodeJS.ProcessEnv): AgentConfig {
  return {
    provisioningPath: env.FLOTILLA_PROVISIONING || '/boot/firmware/flotilla/provisioning.json',
    stateDir: env.FLOTILLA_STATE_DIR || '/var/lib/flotilla',
    hostRoot: env.FLOTILLA_HOST_ROOT || '/',
    telemetryIntervalMs: milliseconds(env, 'FLOTILLA_TELEMETRY_INTERVAL_MS', 60_000),
    reportIntervalMs: milliseconds(env, 'FLOTILLA_REPORT_INTERVAL_MS', 10_000),
    reconcileIntervalMs: milliseconds(env, 'FLOTILLA_RECONCILE_INTERVAL_MS', 30_000),
    healthTimeoutMs: milliseconds(env, 'FLOTILLA_HEALTH_TIMEOUT_MS', 120_000),
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

function logLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === '') return 'info';
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  throw new ConfigError('FLOTILLA_LOG_LEVEL', raw, 'debug, info, warn or error');
}
