/** A phase as the new-rollout form holds it: the operator's text, turned into numbers on sending. */
export interface PhaseDraft {
  name: string;
  size: 'count' | 'percent';
  amount: string;
  successThreshold: string;
  failureThreshold: string;
  onFailure: 'pause' | 'abort';
}

export const DEFAULT_PHASES: PhaseDraft[] = [
  { name: 'canary', size: 'count', amount: '1', successThreshold: '100', failureThreshold: '0', onFailure: 'abort' },
  { name: 'everyone', size: 'percent', amount: '100', successThreshold: '95', failureThreshold: '5', onFailure: 'pause' },
];

/** The new-rollout form, as typed. */
export interface RolloutDraft {
  releaseId: string;
  name: string;
  fleetId: string;
  /** Comma or space separated. */
  tags: string;
  deviceIds: string;
  phases: PhaseDraft[];
  advance: 'auto' | 'manual';
  /** Device timeout in seconds. */
  timeout: string;
}

/** The body of `POST /api/v1/rollouts` (and its dry run): empty fields left out, so the API's defaults hold. */
export function rolloutRequest(draft: RolloutDraft) {
  const { releaseId, name, fleetId, tags, deviceIds, phases, advance, timeout } = draft;
  return {
    releaseId,
    ...(name.trim() ? { name: name.trim() } : {}),
    selection: {
      ...(fleetId ? { fleetId } : {}),
      ...(tags.trim() ? { tags: splitList(tags) } : {}),
      ...(deviceIds.trim() ? { deviceIds: splitList(deviceIds) } : {}),
    },
    phases: phases.map((p) => ({
      ...(p.name.trim() ? { name: p.name.trim() } : {}),
      [p.size]: Number(p.amount),
      successThreshold: Number(p.successThreshold),
      failureThreshold: Number(p.failureThreshold),
      onFailure: p.onFailure,
    })),
    advance,
    deviceTimeoutSeconds: Number(timeout),
  };
}

export function splitList(s: string): string[] {
  return s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}
