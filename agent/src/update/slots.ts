import type { Desired, SlotRef } from '@flotilla/shared/device';
import type { Slot } from './machine';

/** How a slot appears in `reported`: its rev, release and version, without the whole document. */
export function slotRef(slot: Slot | null): SlotRef | null {
  if (!slot) return null;
  return { rev: slot.rev, releaseId: slot.release?.id ?? null, version: slot.release?.assembly.version ?? null };
}

/** Every image reference a slot runs, deduplicated. */
export function imagesOf(slot: Pick<Desired, 'release'> | null): string[] {
  return [...new Set(slot?.release?.assembly.components.map((c) => c.image) ?? [])];
}

/** Images FETCH pulls ahead; a switch-then-download component pulls its image only after its old container stopped. */
export function imagesToFetch(slot: Pick<Desired, 'release'> | null): string[] {
  return [...new Set(slot?.release?.assembly.components.filter((c) => c.update !== 'switch-then-download').map((c) => c.image) ?? [])];
}

/** `rev 7 (origin 1.2.0)`, for log lines and events. */
export function describeSlot(slot: Slot | null): string {
  if (!slot) return 'nothing';
  const release = slot.release;
  return release ? `rev ${slot.rev} (${release.assembly.name} ${release.assembly.version})` : `rev ${slot.rev} (no release)`;
}
