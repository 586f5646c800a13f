import { z } from 'zod';
import { DEPENDENCY_CONDITIONS, RESTART_POLICIES, UpdateStrategy } from './vocabulary';
import { AgentReleaseSpec } from './agent-release';
import { OsImageSpec } from './os-image';

/**
 * The normalized assembly: what a release holds and what a device receives.
 * Every Compose spelling (`KEY=VALUE` lists, short port strings, duration strings) is
 * resolved once, on the control plane, so the agent never re-parses Compose syntax.
 */

export const PortSpec = z.object({
  container: z.number().int().min(1).max(65535),
  host: z.number().int().min(1).max(65535).optional(),
  hostIp: z.string().optional(),
  protocol: z.enum(['tcp', 'udp']),
});
export type PortSpec = z.infer<typeof PortSpec>;

export const MountSpec = z.object({
  type: z.enum(['volume', 'bind']),
  source: z.string(),
  target: z.string(),
  readOnly: z.boolean(),
});
export type MountSpec = z.infer<typeof MountSpec>;

export const HealthcheckSpec = z.object({
  test: z.array(z.string()).min(1),
  intervalMs: z.number().int().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  retries: z.number().int().positive().optional(),
  startPeriodMs: z.number().int().nonnegative().optional(),
});
export type HealthcheckSpec = z.infer<typeof HealthcheckSpec>;

export const ComponentSpec = z.object({
  name: z.string(),
  image: z.string(),
  environment: z.record(z.string(), z.string()),
  command: z.array(z.string()).optional(),
  entrypoint: z.array(z.string()).optional(),
  ports: z.array(PortSpec),
  mounts: z.array(MountSpec),
  restart: z.enum(RESTART_POLICIES),
  healthcheck: HealthcheckSpec.optional(),
  dependsOn: z.record(z.string(), z.enum(DEPENDENCY_CONDITIONS)),
  labels: z.record(z.string(), z.string()),
  devices: z.array(z.string()),
  capAdd: z.array(z.string()),
  memLimitBytes: z.number().int().positive().optional(),
  cpus: z.number().positive().optional(),
  networks: z.array(z.string()),
  update: UpdateStrategy,
  /** Present (and true) only for a component that may hold update locks: absent keeps older release digests. */
  updateLock: z.literal(true).optional(),
});
export type ComponentSpec = z.infer<typeof ComponentSpec>;

export const AssemblySpec = z.object({
  name: z.string(),
  version: z.string(),
  boards: z.array(z.string()).optional(),
  probationMs: z.number().int().nonnegative(),
  /** Present (and false) only when the release opts out of the control-plane check of the probation gate. */
  requireControlPlane: z.literal(false).optional(),
  /** Empty only in an OS-only release (`os` present). */
  components: z.array(ComponentSpec),
  volumes: z.array(z.string()),
  networks: z.array(z.string()),
  /** OS images by board; a device updates its OS when the entry for its board names another version. */
  os: z.array(OsImageSpec).min(1).optional(),
  /** The device agent version of this release (agent/src/self-update). */
  agent: AgentReleaseSpec.optional(),
});
export type AssemblySpec = z.infer<typeof AssemblySpec>;

export const DEFAULT_PROBATION_MS = 30_000;
/** The network every component joins when it names none, as Compose's `default`. */
export const DEFAULT_NETWORK = 'default';

/**
 * What a service with nothing but an image normalizes to (parse.test.ts holds the two
 * together), plus `overrides`: the starting point for components built in code and tests.
 */
export function minimalComponent(name: string, image: string, overrides: Partial<ComponentSpec> = {}): ComponentSpec {
  return {
    name,
    image,
    environment: {},
    ports: [],
    mounts: [],
    restart: 'unless-stopped',
    dependsOn: {},
    labels: {},
    devices: [],
    capAdd: [],
    networks: [DEFAULT_NETWORK],
    update: 'download-then-switch',
    ...overrides,
  };
}
