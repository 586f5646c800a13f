import { LABEL } from '../runtime/labels';
import type { ContainerRuntime } from '../runtime/container-runtime';
import type { Logger } from '../support/logger';
import { ReconcileNotConvergingError } from './errors';
import { executeStep, type ExecuteContext } from './execute';
import { plan } from './plan';
import type { ObservedState, TargetState } from './state';
import { describeStep, type Step } from './steps';

export interface ReconcileResult {
  passes: number;
  executed: Step[];
}

export interface ReconcilerOptions extends ExecuteContext {
  logger: Logger;
  /** Passes before giving up; a healthy engine converges in one, a second one proves it. */
  maxPasses?: number;
  onStep?: (step: Step) => void;
}

/**
 * The apply loop: observe, plan, execute, and again until a plan comes back empty. Each
 * pass re-reads the engine instead of trusting the previous one, so a container that
 * crashed or was removed by hand meanwhile is planned for like any other difference.
 */
export class Reconciler {
  constructor(private readonly options: ReconcilerOptions) {}

  async reconcile(target: TargetState | null): Promise<ReconcileResult> {
    const maxPasses = this.options.maxPasses ?? 5;
    const executed: Step[] = [];
    let steps: Step[] = [];
    for (let pass = 1; pass <= maxPasses; pass++) {
      steps = plan(await observe(this.options.runtime, target), target);
      if (steps.length === 0) return { passes: pass, executed };
      this.options.logger.info('reconcile pass', { pass, steps: steps.map(describeStep) });
      for (const step of steps) {
        if (this.options.signal?.aborted) return { passes: pass, executed };
        this.options.onStep?.(step);
        await executeStep(step, this.options);
        executed.push(step);
      }
    }
    throw new ReconcileNotConvergingError(maxPasses, steps.map(describeStep));
  }
}

/** The observed state, limited to what planning for `target` needs to know. */
export async function observe(runtime: ContainerRuntime, target: TargetState | null): Promise<ObservedState> {
  const [containers, networks, volumes] = await Promise.all([runtime.listContainers(), runtime.listNetworks(), runtime.listVolumes()]);
  const images = [...new Set(target?.components.map((c) => c.spec.image) ?? [])];
  const present = await Promise.all(images.map(async (image) => ((await runtime.hasImage(image)) ? image : undefined)));
  return {
    // Only objects the agent labelled count; listing filters on that already, this keeps the invariant local.
    containers: containers.filter((c) => c.labels[LABEL.managed] === 'true'),
    networks: networks.map((n) => n.name),
    volumes: volumes.map((v) => v.name),
    images: present.filter((i): i is string => i !== undefined),
  };
}
