import type { RegistryAuth } from '@flotilla/shared/device';
import type { ContainerRuntime, PullProgress } from '../runtime/container-runtime';
import { LABEL, resourceLabels } from '../runtime/labels';
import type { Clock } from '../support/clock';
import { HealthTimeoutError, HealthUnavailableError } from './errors';
import type { Step, StepAction, StepOf } from './steps';

export interface ExecuteContext {
  runtime: ContainerRuntime;
  clock: Clock;
  /** How long a `wait-healthy` step waits before failing the apply. */
  healthTimeoutMs: number;
  healthPollMs: number;
  onPullProgress?: (image: string, progress: PullProgress) => void;
  /** The registry access to pull an image with, for the slot being applied (`RegistryAccess.forPull`). */
  authFor?: ((ref: string) => RegistryAuth | undefined) | undefined;
  /** For components with `updateLock`: makes the component's lock directory (and socket) ready, and says where it is. */
  lockDirOf?: ((component: string) => Promise<string>) | undefined;
  signal?: AbortSignal;
}

type Executor<A extends StepAction> = (step: StepOf<A>, ctx: ExecuteContext) => Promise<void>;

/** One executor per step action; each is a single runtime call (or a bounded poll of one). */
export const executors: { [A in StepAction]: Executor<A> } = {
  'create-network': (s, { runtime }) => runtime.ensureNetwork(s.network, resourceLabels(s.assembly)),
  'create-volume': (s, { runtime }) => runtime.ensureVolume(s.volume, resourceLabels(s.assembly)),
  'remove-network': (s, { runtime }) => runtime.removeNetwork(s.network),
  pull: (s, { runtime, onPullProgress, authFor }) =>
    runtime.pullImage(s.image, onPullProgress && ((p) => onPullProgress(s.image, p)), authFor?.(s.image)),
  stop: (s, { runtime }) => runtime.stop(s.container),
  remove: (s, { runtime }) => runtime.remove(s.container),
  'create-and-start': async (s, { runtime, lockDirOf }) => {
    const lockDir = s.component.spec.updateLock && lockDirOf ? await lockDirOf(s.component.spec.name) : undefined;
    await runtime.createAndStart({
      ...(lockDir ? { lockDir } : {}),
      name: s.component.containerName,
      assembly: s.assembly,
      spec: s.component.spec,
      labels: {
        ...resourceLabels(s.assembly),
        [LABEL.component]: s.component.spec.name,
        [LABEL.release]: s.releaseId,
        [LABEL.specHash]: s.component.specHash,
      },
    });
  },
  'wait-healthy': waitHealthy,
};

async function waitHealthy(step: StepOf<'wait-healthy'>, ctx: ExecuteContext): Promise<void> {
  const deadline = ctx.clock.now().getTime() + ctx.healthTimeoutMs;
  for (;;) {
    const { state, health } = await ctx.runtime.inspectHealth(step.container);
    if (health === 'healthy') return;
    if (health === 'none')
      throw new HealthUnavailableError(step.component, state === 'missing' ? 'its container does not exist' : 'it has no health check');
    if (state === 'exited' || state === 'dead' || state === 'missing')
      throw new HealthUnavailableError(step.component, `its container is ${state}`);
    if (ctx.clock.now().getTime() >= deadline || ctx.signal?.aborted)
      throw new HealthTimeoutError(step.component, ctx.healthTimeoutMs, health);
    await ctx.clock.sleep(ctx.healthPollMs, ctx.signal);
  }
}

export function executeStep(step: Step, ctx: ExecuteContext): Promise<void> {
  return (executors[step.action] as Executor<StepAction>)(step, ctx);
}
