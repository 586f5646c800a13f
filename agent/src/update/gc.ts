/**
 * Images to remove after a commit: every image the agent has pulled or run before
 * (`known`) that the new active slot does not use. Images the agent never recorded, such
 * as those a technician pulled by hand, are never touched.
 */
export function imagesToCollect(known: readonly string[], active: readonly string[]): string[] {
  const keep = new Set(active);
  return [...new Set(known)].filter((image) => !keep.has(image)).sort();
}
