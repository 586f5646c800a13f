import type {
  ContainerHealth,
  ContainerRequest,
  ContainerRuntime,
  EngineInfo,
  ManagedContainer,
  ManagedResource,
  PullProgress,
} from './container-runtime';
import { ImageNotFoundError } from './errors';
import { LABEL } from './labels';

/**
 * A `ContainerRuntime` held in memory, for unit tests of reconcile and the agent. It
 * behaves like a well-behaved engine: containers start at once, healthy when their spec
 * has a health check (unless `healthOf` says otherwise), and images must be pulled first.
 */
export class InMemoryRuntime implements ContainerRuntime {
  readonly containers = new Map<string, ManagedContainer>();
  readonly networks = new Map<string, ManagedResource>();
  readonly volumes = new Map<string, ManagedResource>();
  readonly images = new Set<string>();
  /** Images the "registry" can serve. */
  readonly registry = new Set<string>();
  readonly calls: string[] = [];
  /** Overrides the health a started container reports, by component name. */
  healthOf: (component: string) => ContainerHealth['health'] | undefined = () => undefined;
  private nextId = 1;

  async listContainers(): Promise<ManagedContainer[]> {
    return [...this.containers.values()].map((c) => ({ ...c, health: this.healthOf(c.labels[LABEL.component] ?? '') ?? c.health }));
  }
  async listNetworks(): Promise<ManagedResource[]> {
    return [...this.networks.values()];
  }
  async listVolumes(): Promise<ManagedResource[]> {
    return [...this.volumes.values()];
  }
  async ensureNetwork(name: string, labels: Record<string, string>): Promise<void> {
    this.calls.push(`ensureNetwork ${name}`);
    if (!this.networks.has(name)) this.networks.set(name, { name, labels });
  }
  async removeNetwork(name: string): Promise<void> {
    this.calls.push(`removeNetwork ${name}`);
    this.networks.delete(name);
  }
  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.calls.push(`ensureVolume ${name}`);
    if (!this.volumes.has(name)) this.volumes.set(name, { name, labels });
  }
  async hasImage(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }
  async removeImage(ref: string): Promise<'removed' | 'in-use' | 'absent'> {
    this.calls.push(`removeImage ${ref}`);
    if ([...this.containers.values()].some((c) => c.image === ref)) return 'in-use';
    return this.images.delete(ref) ? 'removed' : 'absent';
  }
  async engineInfo(): Promise<EngineInfo> {
    return { platform: { os: 'linux', architecture: 'amd64' }, dataRoot: '/var/lib/docker' };
  }
  async pullImage(ref: string, onProgress?: (progress: PullProgress) => void): Promise<void> {
    this.calls.push(`pull ${ref}`);
    if (!this.registry.has(ref)) throw new ImageNotFoundError(ref, 'manifest unknown');
    onProgress?.({ status: `Status: Downloaded newer image for ${ref}` });
    this.images.add(ref);
  }
  async createAndStart(request: ContainerRequest): Promise<string> {
    this.calls.push(`createAndStart ${request.name}`);
    if (!this.images.has(request.spec.image)) throw new Error(`No such image: ${request.spec.image}`);
    if (this.containers.has(request.name)) throw new Error(`Conflict. The container name "/${request.name}" is already in use`);
    const id = `c${this.nextId++}`;
    this.containers.set(request.name, {
      id,
      name: request.name,
      image: request.spec.image,
      state: 'running',
      health: request.spec.healthcheck ? 'healthy' : 'none',
      restartCount: 0,
      labels: { ...request.spec.labels, ...request.labels },
    });
    return id;
  }
  async stop(container: string): Promise<void> {
    this.calls.push(`stop ${container}`);
    const c = this.containers.get(container);
    if (c) this.containers.set(container, { ...c, state: 'exited' });
  }
  async remove(container: string): Promise<void> {
    this.calls.push(`remove ${container}`);
    this.containers.delete(container);
  }
  async restart(container: string): Promise<void> {
    this.calls.push(`restart ${container}`);
    const c = this.containers.get(container);
    if (!c) throw new Error(`No such container: ${container}`);
    this.containers.set(container, { ...c, state: 'running', restartCount: c.restartCount + 1 });
  }
  async inspectHealth(container: string): Promise<ContainerHealth> {
    const c = this.containers.get(container);
    if (!c) return { state: 'missing', health: 'none' };
    return { state: c.state, health: this.healthOf(c.labels[LABEL.component] ?? '') ?? c.health };
  }
  async logs(container: string): Promise<string> {
    if (!this.containers.has(container)) throw new Error(`No such container: ${container}`);
    return `logs of ${container}\n`;
  }
  async processIds(container: string): Promise<number[] | null> {
    return this.containers.get(container)?.state === 'running' ? [1] : [];
  }
}
