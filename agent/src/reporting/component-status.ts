import type { ComponentStatus } from '@flotilla/shared/device';
import type { ManagedContainer } from '../runtime/container-runtime';
import { LABEL } from '../runtime/labels';
import type { TargetState } from '../reconcile/state';
import { byCodePoint } from '../support/compare';

/**
 * Per-component status for `reported`: every managed container, plus a `missing` entry
 * for each component the target wants that has no container, so an operator sees a
 * component that failed to start rather than nothing. Sorted by name for stable reports.
 */
export function componentStatuses(containers: ManagedContainer[], target: TargetState | null): ComponentStatus[] {
  const statuses: ComponentStatus[] = containers.map((c) => ({
    name: c.labels[LABEL.component] ?? c.name,
    image: c.image,
    state: c.state,
    health: c.health,
    containerId: c.id,
    restartCount: c.restartCount,
  }));
  for (const component of target?.components ?? []) {
    if (!statuses.some((s) => s.name === component.spec.name)) {
      statuses.push({ name: component.spec.name, image: component.spec.image, state: 'missing', health: 'none' });
    }
  }
  return statuses.sort((a, b) => byCodePoint(a.name, b.name) || byCodePoint(a.containerId ?? '', b.containerId ?? ''));
}
