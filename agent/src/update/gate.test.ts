import { minimalComponent } from '@flotilla/shared';
import type { ManagedContainer } from '../runtime/container-runtime';
import { LABEL } from '../runtime/labels';
import { targetFromDesired } from '../reconcile/target';
import { signedDesired, testSigner } from '../testing/releases';
import { judgeGate, type GateInput } from './gate';

const IMG = 'registry.local/app@sha256:' + 'a'.repeat(64);
const target = targetFromDesired(
  signedDesired(testSigner(), 1, [
    minimalComponent('web', IMG, { healthcheck: { test: ['CMD', 'true'] } }),
    minimalComponent('job', IMG, { restart: 'no' }),
  ]),
)!;

function container(name: string, overrides: Partial<ManagedContainer> = {}): ManagedContainer {
  const component = target.components.find((c) => c.spec.name === name)!;
  return {
    id: `id-${name}`,
    name: component.containerName,
    image: IMG,
    state: 'running',
    health: name === 'web' ? 'healthy' : 'none',
    restartCount: 0,
    labels: { [LABEL.managed]: 'true', [LABEL.component]: name, [LABEL.specHash]: component.specHash },
    ...overrides,
  };
}

function gate(overrides: Partial<GateInput> = {}): ReturnType<typeof judgeGate> {
  return judgeGate({
    target,
    containers: [container('web'), container('job')],
    baseline: new Map(),
    elapsedMs: 10_000,
    windowMs: 5_000,
    healthGraceMs: 2_000,
    requireControlPlane: true,
    controlPlaneConnected: true,
    ...overrides,
  });
}

describe('judgeGate (PROBATION)', () => {
  it('passes once the window is over with everything running and healthy; waits before', () => {
    expect(gate()).toEqual({ verdict: 'pass' });
    expect(gate({ elapsedMs: 1_000 })).toEqual({ verdict: 'wait' });
  });

  it('accepts a finished one-shot component (restart "no")', () => {
    expect(gate({ containers: [container('web'), container('job', { state: 'exited' })] })).toEqual({ verdict: 'pass' });
  });

  it('fails at once, before the window ends, on a crash loop', () => {
    expect(gate({ elapsedMs: 100, containers: [container('web', { restartCount: 2 }), container('job')] })).toMatchObject({
      verdict: 'fail',
      reason: expect.stringMatching(/"web" is crash-looping \(2 restart/),
    });
    expect(gate({ elapsedMs: 100, containers: [container('web', { state: 'restarting' }), container('job')] })).toMatchObject({
      verdict: 'fail',
    });
    expect(
      gate({ baseline: new Map([['id-web', { restartCount: 2 }]]), containers: [container('web', { restartCount: 2 }), container('job')] }),
    ).toEqual({
      verdict: 'pass',
    });
  });

  it('fails when a container was started again without counting a restart (the engine restarted)', () => {
    const baseline = new Map([['id-web', { restartCount: 0, startedAt: '2026-11-27T12:00:00Z' }]]);
    expect(gate({ baseline, containers: [container('web', { startedAt: '2026-11-27T12:00:00Z' }), container('job')] })).toEqual({
      verdict: 'pass',
    });
    expect(gate({ baseline, containers: [container('web', { startedAt: '2026-11-27T12:00:09Z' }), container('job')] })).toMatchObject({
      verdict: 'fail',
      reason: expect.stringMatching(/started again/),
    });
  });

  it('fails at once on unhealthy, a stopped component or a missing container', () => {
    expect(gate({ elapsedMs: 0, containers: [container('web', { health: 'unhealthy' }), container('job')] })).toMatchObject({
      reason: expect.stringMatching(/unhealthy/),
    });
    expect(gate({ elapsedMs: 0, containers: [container('web', { state: 'exited' }), container('job')] })).toMatchObject({
      reason: expect.stringMatching(/"web" is exited/),
    });
    expect(gate({ elapsedMs: 0, containers: [container('job')] })).toMatchObject({
      reason: expect.stringMatching(/"web" has no container/),
    });
  });

  it('gives a health check still starting a grace period past the window, then fails', () => {
    const starting = [container('web', { health: 'starting' }), container('job')];
    expect(gate({ containers: starting, elapsedMs: 6_000 })).toEqual({ verdict: 'wait' });
    expect(gate({ containers: starting, elapsedMs: 7_000 })).toMatchObject({
      verdict: 'fail',
      reason: expect.stringMatching(/never became healthy/),
    });
  });

  it('needs the control plane at the end of the window unless the release opted out', () => {
    expect(gate({ controlPlaneConnected: false })).toMatchObject({ verdict: 'fail', reason: expect.stringMatching(/requireControlPlane/) });
    expect(gate({ controlPlaneConnected: false, requireControlPlane: false })).toEqual({ verdict: 'pass' });
  });
});
