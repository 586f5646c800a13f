export interface ClusterNode {
  name: string;
  running: boolean;
  /** Why a node counts as down when RabbitMQ itself still lists it as running (its own management API did not answer). */
  unanswered?: string;
}

/** What one management URL said about itself: the node serving it, or why it did not answer. */
export type NodeProbe = { url: string; node: string } | { url: string; error: string };

/**
 * The cluster's nodes as this replica sees them, from the cluster's own member list (`members`,
 * undefined when no node could give it) and each management URL's answer about itself (`probes`).
 * RabbitMQ keeps counting a member as running until it is declared down (net_ticktime, about a
 * minute), whether it is stopping slowly or hung: a member whose own management API did not answer
 * is down here at once. `nodeOf` names the node behind a URL as it last answered; a URL that never
 * did, with no member list either, is shown by its address so that the count of nodes stays right.
 */
export function clusterView(members: ClusterNode[] | undefined, probes: NodeProbe[], nodeOf: ReadonlyMap<string, string>): ClusterNode[] {
  const unanswered = new Map<string, string>();
  const unnamed: ClusterNode[] = [];
  const answered = new Set<string>();
  for (const probe of probes) {
    if ('node' in probe) {
      answered.add(probe.node);
      continue;
    }
    const name = nodeOf.get(probe.url);
    if (name) unanswered.set(name, probe.error);
    else unnamed.push({ name: addressOf(probe.url), running: false, unanswered: probe.error });
  }
  const down = (name: string): ClusterNode => {
    const reason = unanswered.get(name);
    return { name, running: false, ...(reason ? { unanswered: reason } : {}) };
  };
  if (members) {
    const listed = members.map((m) => (m.running && unanswered.has(m.name) ? down(m.name) : { name: m.name, running: m.running }));
    const unlisted = [...answered].filter((name) => !members.some((m) => m.name === name)).map((name) => ({ name, running: true }));
    return [...listed, ...unlisted];
  }
  const named = [...new Set([...answered, ...unanswered.keys()])].sort();
  return [...named.map((name) => (answered.has(name) ? { name, running: true } : down(name))), ...unnamed];
}

/** host:port of a management URL, never its credentials. */
function addressOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
