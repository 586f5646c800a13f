import type { ManagedContainer } from '../runtime/container-runtime';
import { LABEL } from '../runtime/labels';
import type { ObservedState, TargetComponent, TargetState } from './state';
import type { Step } from './steps';
import { byCodePoint } from '../support/compare';

/**
 * The steps that take `current` to `target`, in order. Pure and level-based: it looks
 * only at the two states, never at what happened before, so planning again on the state
 * after the steps ran returns `[]`.
 *
 * Order, for the default download-then-switch strategy: networks and volumes first,
 * then every missing image is pulled while the old containers still run, then the
 * containers that go away or change are stopped and removed, then new containers start
 * in dependency order, then networks nobody needs are removed. Volumes are never
 * removed: they hold the device's data, and a later release may want it back.
 */
export function plan(current: ObservedState, target: TargetState | null): Step[] {
  if (target === null) {
    return [
      ...[...current.containers].sort((a, b) => byCodePoint(a.name, b.name)).flatMap(stopAndRemove),
      ...current.networks.map((network): Step => ({ action: 'remove-network', network })),
    ];
  }

  const kept = new Map<string, ManagedContainer>();
  const outgoing: ManagedContainer[] = [];
  for (const container of current.containers) {
    const wanted = target.components.find((c) => c.spec.name === container.labels[LABEL.component]);
    if (wanted && !kept.has(wanted.spec.name) && isUpToDate(container, wanted)) kept.set(wanted.spec.name, container);
    else outgoing.push(container);
  }
  const incoming = dependencyOrder(target.components).filter((c) => !kept.has(c.spec.name));

  const present = new Set(current.images);
  const pullsFor = (components: TargetComponent[]): Step[] => {
    const images = [...new Set(components.map((c) => c.spec.image))].filter((image) => !present.has(image));
    images.forEach((image) => present.add(image));
    return images.map((image) => ({ action: 'pull', image }));
  };
  // Hand-over: the new container starts beside the old one (names carry the spec hash), and
  // the old one goes only once the new one runs, healthy when it has a check.
  const handedOver = new Set(incoming.filter((c) => c.spec.update === 'hand-over').map((c) => c.spec.name));
  const replacedLater = outgoing.filter((c) => handedOver.has(c.labels[LABEL.component] ?? ''));
  const replacedNow = outgoing.filter((c) => !replacedLater.includes(c));
  const pullFirst = incoming.filter((c) => c.spec.update !== 'switch-then-download');
  const pullAfterStop = incoming.filter((c) => c.spec.update === 'switch-then-download');

  return [
    ...target.networks
      .filter((n) => !current.networks.includes(n))
      .map((network): Step => ({ action: 'create-network', network, assembly: target.assembly })),
    ...target.volumes
      .filter((v) => !current.volumes.includes(v))
      .map((volume): Step => ({ action: 'create-volume', volume, assembly: target.assembly })),
    ...pullsFor(pullFirst),
    ...stopOrder(replacedNow, target).flatMap(stopAndRemove),
    ...pullsFor(pullAfterStop),
    ...startSteps(incoming, kept, target, replacedLater),
    ...current.networks.filter((n) => !target.networks.includes(n)).map((network): Step => ({ action: 'remove-network', network })),
  ];
}

/**
 * A container stays when it was made from the same spec and is in a state its restart
 * policy accepts. An exited container under `no` or `on-failure` finished its work (the
 * engine restarts failures itself), so it is left alone rather than re-run on every pass.
 */
function isUpToDate(container: ManagedContainer, wanted: TargetComponent): boolean {
  if (container.labels[LABEL.specHash] !== wanted.specHash) return false;
  switch (container.state) {
    case 'running':
    case 'restarting':
    case 'paused':
      return true;
    case 'exited':
      return wanted.spec.restart === 'no' || wanted.spec.restart === 'on-failure';
    case 'created':
    case 'dead':
    case 'missing':
      return false;
  }
}

function stopAndRemove(container: ManagedContainer): Step[] {
  const component = container.labels[LABEL.component] ?? container.name;
  const running = container.state === 'running' || container.state === 'restarting' || container.state === 'paused';
  return [
    ...(running ? [{ action: 'stop', container: container.name, component } as const] : []),
    { action: 'remove', container: container.name, component },
  ];
}

function startSteps(
  incoming: TargetComponent[],
  kept: Map<string, ManagedContainer>,
  target: TargetState,
  replacedLater: ManagedContainer[],
): Step[] {
  const steps: Step[] = [];
  const awaited = new Set<string>();
  for (const component of incoming) {
    for (const [dependency, condition] of Object.entries(component.spec.dependsOn)) {
      if (condition !== 'service_healthy' || awaited.has(dependency)) continue;
      const running = kept.get(dependency);
      if (running?.health === 'healthy') continue;
      const spec = target.components.find((c) => c.spec.name === dependency);
      if (!spec) continue;
      awaited.add(dependency);
      steps.push({ action: 'wait-healthy', container: spec.containerName, component: dependency });
    }
    steps.push({ action: 'create-and-start', component, assembly: target.assembly, releaseId: target.releaseId });
    const old = replacedLater.filter((c) => c.labels[LABEL.component] === component.spec.name);
    if (old.length === 0) continue;
    if (component.spec.healthcheck) {
      awaited.add(component.spec.name);
      steps.push({ action: 'wait-healthy', container: component.containerName, component: component.spec.name });
    }
    steps.push(...old.flatMap(stopAndRemove));
  }
  return steps;
}

/** Dependants stop before what they depend on, the reverse of start order. */
function stopOrder(outgoing: ManagedContainer[], target: TargetState): ManagedContainer[] {
  const rank = new Map(dependencyOrder(target.components).map((c, i) => [c.spec.name, i]));
  const rankOf = (c: ManagedContainer) => rank.get(c.labels[LABEL.component] ?? '') ?? Number.MAX_SAFE_INTEGER;
  return [...outgoing].sort((a, b) => rankOf(b) - rankOf(a) || byCodePoint(a.name, b.name));
}

/**
 * Dependencies before dependants (Kahn's algorithm), ties by name so a plan is stable.
 * The control plane refuses cyclic assemblies; should one arrive anyway, the components
 * on the cycle are started last, by name, rather than not at all.
 */
export function dependencyOrder(components: TargetComponent[]): TargetComponent[] {
  const names = new Set(components.map((c) => c.spec.name));
  const remaining = new Map(components.map((c) => [c.spec.name, c]));
  const ordered: TargetComponent[] = [];
  const done = new Set<string>();
  while (remaining.size > 0) {
    const ready = [...remaining.values()]
      .filter((c) => Object.keys(c.spec.dependsOn).every((d) => done.has(d) || !names.has(d)))
      .sort((a, b) => byCodePoint(a.spec.name, b.spec.name));
    const next = ready[0] ?? [...remaining.values()].sort((a, b) => byCodePoint(a.spec.name, b.spec.name))[0]!;
    ordered.push(next);
    done.add(next.spec.name);
    remaining.delete(next.spec.name);
  }
  return ordered;
}
