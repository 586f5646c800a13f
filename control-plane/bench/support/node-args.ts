/**
 * Node flags for one of a bench's processes from an environment variable, split on spaces (none
 * when unset): CP_NODE_ARGS for the control plane, BARE_NODE_ARGS for the bare broker baselines,
 * LOAD_NODE_ARGS for the load processes, e.g. `--cpu-prof --cpu-prof-dir=…` to profile one side.
 */
export function nodeArgsFrom(variable: 'CP_NODE_ARGS' | 'BARE_NODE_ARGS' | 'LOAD_NODE_ARGS'): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}
