import { COMPONENT_STATES, HEALTH_STATES, platformOfMachine, type Platform } from '@flotilla/shared/device';
import type { ContainerState, HealthState, ManagedContainer } from './container-runtime';

/** The parts of the engine's answers this runtime reads (Docker Engine API). */
export interface EngineNetwork {
  Name: string;
  Labels?: Record<string, string> | null;
}
export interface EngineVolume {
  Name: string;
  Labels?: Record<string, string> | null;
}
export interface EngineContainer {
  Id: string;
  Name: string;
  RestartCount?: number;
  Config: { Image: string; Labels?: Record<string, string> | null };
  State: { Status: string; StartedAt?: string; Health?: { Status?: string } };
}

/** The engine reports `uname -m` names (armv7l, aarch64) and its OSType; images and registries use OCI platforms (linux/arm/v7). */
export function enginePlatform(machine: string, osType: string | undefined): Platform {
  return platformOfMachine(machine, osType || 'linux');
}

/** The HTTP status of an engine answer that failed (`EngineHttpError`); undefined for any other error. */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** A managed container as the runtime reports it, from the engine's inspect answer. */
export function managedContainer(info: EngineContainer): ManagedContainer {
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    state: containerState(info.State.Status),
    health: healthState(info.State.Health?.Status),
    restartCount: info.RestartCount ?? 0,
    startedAt: info.State.StartedAt,
    labels: info.Config.Labels ?? {},
  };
}

/** A process's pid inside its container: the last pid of the `NSpid` line of its /proc status; undefined when absent. */
export function namespacePid(procStatus: string | undefined): number | undefined {
  const nspid = procStatus
    ?.match(/^NSpid:\s+([\d\s]+)$/m)?.[1]
    ?.trim()
    .split(/\s+/)
    .at(-1);
  return nspid === undefined ? undefined : Number(nspid);
}

export function containerState(status: string): ContainerState {
  if ((COMPONENT_STATES as readonly string[]).includes(status)) return status as ContainerState;
  // `removing` is on its way out: for planning it is as good as stopped.
  return 'exited';
}

export function healthState(status: string | undefined): HealthState {
  if (status && (HEALTH_STATES as readonly string[]).includes(status)) return status as HealthState;
  return 'none';
}
