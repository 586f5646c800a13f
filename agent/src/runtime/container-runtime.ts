import type { ComponentSpec, ComponentStatus, Platform, RegistryAuth } from '@flotilla/shared/device';

/**
 * The engine as the agent needs it, and nothing more. `DockerRuntime` is the only
 * implementation that talks to a real engine; reconcile and the agent see only this.
 * Every list method returns managed objects only (see `labels.ts`).
 */
export interface ContainerRuntime {
  listContainers(): Promise<ManagedContainer[]>;
  listNetworks(): Promise<ManagedResource[]>;
  listVolumes(): Promise<ManagedResource[]>;
  /** Creates the network unless one of that name exists. */
  ensureNetwork(name: string, labels: Record<string, string>): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  /** Creates the volume unless one of that name exists; never deletes data. */
  ensureVolume(name: string, labels: Record<string, string>): Promise<void>;
  hasImage(ref: string): Promise<boolean>;
  /** Removes one image reference; `in-use` when a container still needs it, `absent` when it was not there. */
  removeImage(ref: string): Promise<'removed' | 'in-use' | 'absent'>;
  /** The engine's platform (OCI names: linux/amd64, linux/arm64, linux/arm/v7) and where it keeps images. */
  engineInfo(): Promise<EngineInfo>;
  /** `auth`: the login for the image's registry, when the device was given one; anonymous otherwise. */
  pullImage(ref: string, onProgress?: (progress: PullProgress) => void, auth?: RegistryAuth): Promise<void>;
  /** Creates, connects to every network and starts; returns the container id. */
  createAndStart(request: ContainerRequest): Promise<string>;
  stop(container: string, timeoutSeconds?: number): Promise<void>;
  remove(container: string): Promise<void>;
  restart(container: string): Promise<void>;
  inspectHealth(container: string): Promise<ContainerHealth>;
  logs(container: string, options?: { tail?: number; followMs?: number }): Promise<string>;
  /**
   * The processes running in a container, by their pid inside it (what a lock file records);
   * [] when it is not running, null when the engine cannot tell.
   */
  processIds(container: string): Promise<number[] | null>;
}

export interface EngineInfo {
  platform: Platform;
  dataRoot: string;
}

export type ContainerState = ComponentStatus['state'];
export type HealthState = ComponentStatus['health'];

export interface ManagedContainer {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  health: HealthState;
  restartCount: number;
  /** When the engine last started it (ISO 8601); changes on every restart, including the engine's own. */
  startedAt?: string;
  labels: Record<string, string>;
}

export interface ManagedResource {
  name: string;
  labels: Record<string, string>;
}

export interface ContainerHealth {
  state: ContainerState;
  health: HealthState;
}

export interface PullProgress {
  status: string;
  id?: string;
  current?: number;
  total?: number;
}

/**
 * Everything needed to create one component's container. `spec.environment` already
 * holds the device configuration it receives; `labels` are the agent's own labels.
 */
export interface ContainerRequest {
  name: string;
  assembly: string;
  spec: ComponentSpec;
  labels: Record<string, string>;
  /** For a component with `updateLock`: its lock directory on the device, mounted at `LOCK_DIR_IN_CONTAINER`. */
  lockDir?: string;
}
