import { targetFromDesired } from '../../reconcile/target';
import type { ContainerRuntime } from '../../runtime/container-runtime';
import type { Clock } from '../../support/clock';
import { GateFailedError } from '../errors';
import { judgeGate } from '../gate';
import type { Slot } from '../machine';

export interface ProbationDeps {
  runtime: ContainerRuntime;
  clock: Clock;
  controlPlaneConnected: () => boolean;
  healthGraceMs: number;
  pollMs: number;
}

/**
 * PROBATION: watches the candidate for its probation window through the pure gate
 * (`gate.ts`); resolves when it passes, throws `GateFailedError` when it fails.
 */
export async function probeCandidate(deps: ProbationDeps, candidate: Slot, signal: AbortSignal): Promise<void> {
  const target = targetFromDesired(candidate);
  const windowMs = candidate.release?.assembly.probationMs ?? 0;
  const requireControlPlane = candidate.release !== null && candidate.release.assembly.requireControlPlane !== false;
  const started = deps.clock.now().getTime();
  const baseline = new Map(
    (await deps.runtime.listContainers()).map((c) => [c.id, { restartCount: c.restartCount, startedAt: c.startedAt }]),
  );
  for (;;) {
    const verdict = judgeGate({
      target,
      containers: await deps.runtime.listContainers(),
      baseline,
      elapsedMs: deps.clock.now().getTime() - started,
      windowMs,
      healthGraceMs: deps.healthGraceMs,
      requireControlPlane,
      controlPlaneConnected: deps.controlPlaneConnected(),
    });
    if (verdict.verdict === 'pass') return;
    if (verdict.verdict === 'fail') throw new GateFailedError(verdict.reason);
    await deps.clock.sleep(deps.pollMs, signal);
    if (signal.aborted) return;
  }
}
