import { z } from 'zod';

/**
 * The words an assembly shares between its YAML form (manifest.ts, the control plane's) and
 * its normalized form (spec.ts, what a device receives). Apart so that a device, which never
 * reads YAML, does not build the manifest's schemas (BENCHMARKS.md "agent").
 */
export const UPDATE_STRATEGIES = ['download-then-switch', 'switch-then-download', 'hand-over'] as const;
export const UpdateStrategy = z.enum(UPDATE_STRATEGIES);
export type UpdateStrategy = z.infer<typeof UpdateStrategy>;

export const DEPENDENCY_CONDITIONS = ['service_started', 'service_healthy'] as const;

export const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;
