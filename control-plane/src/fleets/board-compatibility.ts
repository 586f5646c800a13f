/**
 * The fleet's boards a release does not declare support for. A release without `boards`
 * runs on any board, and a fleet without boards accepts any release.
 */
export function unsupportedBoards(fleetBoards: readonly string[], releaseBoards: readonly string[] | undefined): string[] {
  if (!releaseBoards) return [];
  return fleetBoards.filter((b) => !releaseBoards.includes(b));
}
