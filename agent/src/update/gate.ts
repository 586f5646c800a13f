import type { ManagedContainer } from '../runtime/container-runtime';
import { LABEL } from '../runtime/labels';
import type { TargetState } from '../reconcile/state';

export interface GateInput {
  target: TargetState | null;
  containers: ManagedContainer[];
  /** Restart count and start time by container id when probation began. */
  baseline: ReadonlyMap<string, { restartCount: number; startedAt?: string }>;
  elapsedMs: number;
  windowMs: number;
  /** How long past the window a health check still `starting` may take before it fails the gate. */
  healthGraceMs: number;
  requireControlPlane: boolean;
  controlPlaneConnected: boolean;
}

export type GateVerdict = { verdict: 'pass' } | { verdict: 'wait' } | { verdict: 'fail'; reason: string };

/**
 * The probation health gate, judged on one look at the engine. Anything that is already
 * wrong fails at once (a crash loop does not get to run out the window); passing needs
 * the whole window to have elapsed with every component running, healthy where it has a
 * check, and the control plane connected unless the release opted out.
 */
export function judgeGate(input: GateInput): GateVerdict {
  const startingPastWindow: string[] = [];
  let starting = false;
  for (const component of input.target?.components ?? []) {
    const name = component.spec.name;
    const container = input.containers.find((c) => c.labels[LABEL.component] === name && c.labels[LABEL.specHash] === component.specHash);
    if (!container) return { verdict: 'fail', reason: `component "${name}" has no container` };
    const before = input.baseline.get(container.id);
    const restarts = container.restartCount - (before?.restartCount ?? 0);
    // The engine restarting a container itself (its own restart) does not count a restart, but starts it anew.
    const startedAgain = before?.startedAt !== undefined && container.startedAt !== undefined && container.startedAt !== before.startedAt;
    if (startedAgain && restarts === 0 && container.state === 'running') {
      return { verdict: 'fail', reason: `component "${name}" was started again during probation (engine restart?)` };
    }
    if (restarts > 0 || container.state === 'restarting') {
      return {
        verdict: 'fail',
        reason: `component "${name}" is crash-looping (${restarts} restart(s) during probation, now ${container.state}); check its logs`,
      };
    }
    const oneShot = component.spec.restart === 'no' || component.spec.restart === 'on-failure';
    if (container.state !== 'running' && !(oneShot && container.state === 'exited')) {
      return { verdict: 'fail', reason: `component "${name}" is ${container.state}, not running; check its logs` };
    }
    if (container.health === 'unhealthy') {
      return { verdict: 'fail', reason: `component "${name}" is unhealthy by its own health check; check the check and its logs` };
    }
    if (container.health === 'starting') {
      starting = true;
      startingPastWindow.push(name);
    }
  }
  if (input.elapsedMs < input.windowMs) return { verdict: 'wait' };
  if (starting) {
    if (input.elapsedMs < input.windowMs + input.healthGraceMs) return { verdict: 'wait' };
    return {
      verdict: 'fail',
      reason: `component(s) ${startingPastWindow.join(', ')} never became healthy within ${input.windowMs + input.healthGraceMs} ms; check the health check`,
    };
  }
  if (input.requireControlPlane && !input.controlPlaneConnected) {
    return {
      verdict: 'fail',
      reason:
        'the control plane was not reachable at the end of probation; set x-flotilla.update.requireControlPlane: false for offline-first fleets',
    };
  }
  return { verdict: 'pass' };
}
