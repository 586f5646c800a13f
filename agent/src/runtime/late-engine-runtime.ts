import { access } from 'node:fs/promises';
import type {
  ContainerHealth,
  ContainerRequest,
  ContainerRuntime,
  EngineInfo,
  ManagedContainer,
  ManagedResource,
  PullProgress,
} from './container-runtime';
import type { RegistryAuth } from '@flotilla/shared/device';

/**
 * The runtime of a device whose engine socket was missing when the agent started: dockerd
 * not installed, or not started yet (a slow boot, a restart). Each call looks for the socket
 * again while it has never been seen: without it the call goes to `absent` (nothing runs, and
 * a start is refused with a transient `NoEngineError`, so an update waits instead of failing);
 * from the first time it is there, every call goes to `engine`, which reports a socket that
 * goes away again (dockerd restarting) as a transient `EngineError` of its own.
 */
export class LateEngineRuntime implements ContainerRuntime {
  private found = false;

  constructor(
    private readonly socketPath: string,
    private readonly engine: ContainerRuntime,
    private readonly absent: ContainerRuntime,
    private readonly onFound: () => void = () => undefined,
    private readonly exists: (path: string) => Promise<boolean> = socketExists,
  ) {}

  private async now(): Promise<ContainerRuntime> {
    if (!this.found && (await this.exists(this.socketPath))) {
      this.found = true;
      this.onFound();
    }
    return this.found ? this.engine : this.absent;
  }

  async listContainers(): Promise<ManagedContainer[]> {
    return (await this.now()).listContainers();
  }
  async listNetworks(): Promise<ManagedResource[]> {
    return (await this.now()).listNetworks();
  }
  async listVolumes(): Promise<ManagedResource[]> {
    return (await this.now()).listVolumes();
  }
  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    return (await this.now()).ensureNetwork(name, labels);
  }
  async removeNetwork(name: string): Promise<void> {
    return (await this.now()).removeNetwork(name);
  }
  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    return (await this.now()).ensureVolume(name, labels);
  }
  async hasImage(ref: string): Promise<boolean> {
    return (await this.now()).hasImage(ref);
  }
  async removeImage(ref: string): Promise<'removed' | 'in-use' | 'absent'> {
    return (await this.now()).removeImage(ref);
  }
  async engineInfo(): Promise<EngineInfo> {
    return (await this.now()).engineInfo();
  }
  async pullImage(ref: string, onProgress?: (progress: PullProgress) => void, auth?: RegistryAuth): Promise<void> {
    return (await this.now()).pullImage(ref, onProgress, auth);
  }
  async createAndStart(request: ContainerRequest): Promise<string> {
    return (await this.now()).createAndStart(request);
  }
  async stop(container: string, timeoutSeconds?: number): Promise<void> {
    return (await this.now()).stop(container, timeoutSeconds);
  }
  async remove(container: string): Promise<void> {
    return (await this.now()).remove(container);
  }
  async restart(container: string): Promise<void> {
    return (await this.now()).restart(container);
  }
  async inspectHealth(container: string): Promise<ContainerHealth> {
    return (await this.now()).inspectHealth(container);
  }
  async logs(container: string, options?: { tail?: number; followMs?: number }): Promise<string> {
    return (await this.now()).logs(container, options);
  }
  async processIds(container: string): Promise<number[] | null> {
    return (await this.now()).processIds(container);
  }
}

function socketExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
