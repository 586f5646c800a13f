import { machine } from 'node:os';
import { platformOfMachine } from '@flotilla/shared/device';
import { AgentError } from '../support/errors';
import type { ContainerRuntime, EngineInfo, ManagedContainer, ManagedResource } from './container-runtime';

/**
 * A release asked for containers while the device has no container engine. Transient: the
 * socket may only be missing for now (dockerd starting after the agent at boot, or restarting),
 * so an update waits for it, telling why (`LateEngineRuntime` uses the engine once it is there);
 * a newer desired state (an OS-only release) replaces the wait.
 */
export class NoEngineError extends AgentError {
  readonly code = 'no-container-engine';
  constructor(
    readonly operation: string,
    readonly socketPath: string,
  ) {
    super(
      `cannot ${operation}: this device has no container engine (no Docker socket at ${socketPath}); ` +
        'start dockerd, or use an OS image with docker.io installed, or give this board OS-only releases',
    );
  }
}

/**
 * The runtime of a device without a container engine (an OS-only board, or the QEMU test
 * guest): nothing runs, so every list is empty, and anything that would start a container
 * fails with a reason a person can act on. OS-only releases need nothing more than this.
 * The agent uses it while the engine's socket does not exist (`LateEngineRuntime`).
 */
export class NoEngineRuntime implements ContainerRuntime {
  constructor(
    private readonly socketPath: string,
    private readonly dataRoot: string,
  ) {}

  private refuse(operation: string): never {
    throw new NoEngineError(operation, this.socketPath);
  }

  async listContainers(): Promise<ManagedContainer[]> {
    return [];
  }
  async listNetworks(): Promise<ManagedResource[]> {
    return [];
  }
  async listVolumes(): Promise<ManagedResource[]> {
    return [];
  }
  async ensureNetwork(name: string): Promise<void> {
    this.refuse(`create network ${name}`);
  }
  async removeNetwork(): Promise<void> {
    // Nothing exists to remove.
  }
  async ensureVolume(name: string): Promise<void> {
    this.refuse(`create volume ${name}`);
  }
  async hasImage(): Promise<boolean> {
    return false;
  }
  async removeImage(): Promise<'absent'> {
    return 'absent';
  }
  async engineInfo(): Promise<EngineInfo> {
    return { platform: platformOfMachine(machine()), dataRoot: this.dataRoot };
  }
  async pullImage(ref: string): Promise<void> {
    this.refuse(`pull ${ref}`);
  }
  async createAndStart(request: { name: string }): Promise<string> {
    this.refuse(`start component ${request.name}`);
  }
  async stop(container: string): Promise<void> {
    this.refuse(`stop ${container}`);
  }
  async remove(): Promise<void> {
    // Nothing exists to remove.
  }
  async restart(container: string): Promise<void> {
    this.refuse(`restart ${container}`);
  }
  async inspectHealth(container: string): Promise<never> {
    this.refuse(`inspect ${container}`);
  }
  async logs(container: string): Promise<string> {
    this.refuse(`read the logs of ${container}`);
  }
  async processIds(): Promise<number[]> {
    return [];
  }
}
