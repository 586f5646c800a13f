import type { AgentReleaseSpec, Release } from '@flotilla/shared/device';

/**
 * The agent version the committed release asks for, if this agent should move to it: not
 * when the release carries none, when it is the running version, or when that very build
 * (by hash) already failed its trial here (a newer release must name another one).
 */
export function agentUpdateFor(
  release: Release | null | undefined,
  runningVersion: string,
  failedSha256: string | null,
): (AgentReleaseSpec & { releaseId: string }) | undefined {
  const wanted = release?.assembly.agent;
  if (!release || !wanted || wanted.version === runningVersion || wanted.sha256 === failedSha256) return undefined;
  return { ...wanted, releaseId: release.id };
}
