import type { TargetComponent } from './state';

/**
 * One engine action. Steps are plain data, so a plan can be compared in tests, logged and
 * reported; `execute.ts` holds one executor per `action`.
 */
export type Step =
  | { action: 'create-network'; network: string; assembly: string }
  | { action: 'create-volume'; volume: string; assembly: string }
  | { action: 'pull'; image: string }
  | { action: 'stop'; container: string; component: string }
  | { action: 'remove'; container: string; component: string }
  | { action: 'create-and-start'; component: TargetComponent; assembly: string; releaseId: string }
  | { action: 'wait-healthy'; container: string; component: string }
  | { action: 'remove-network'; network: string };

export type StepAction = Step['action'];
export type StepOf<A extends StepAction> = Extract<Step, { action: A }>;

/** A short human form for logs and events. */
export function describeStep(step: Step): string {
  switch (step.action) {
    case 'create-network':
    case 'remove-network':
      return `${step.action} ${step.network}`;
    case 'create-volume':
      return `${step.action} ${step.volume}`;
    case 'pull':
      return `pull ${step.image}`;
    case 'create-and-start':
      return `create-and-start ${step.component.containerName}`;
    case 'stop':
    case 'remove':
    case 'wait-healthy':
      return `${step.action} ${step.container}`;
  }
}
