import { z } from 'zod';
import { parseByteSize, parseDuration } from './duration';
import { AgentReleaseSpec } from './agent-release';
import { OsImageSpec } from './os-image';
import { DEPENDENCY_CONDITIONS, RESTART_POLICIES, UpdateStrategy } from './vocabulary';
import { IMAGE_REFERENCE_HINT, isImageReference } from './image-reference';

/**
 * `assembly.yaml`: a subset of the Compose specification plus one `x-flotilla` block.
 *
 * Flotilla's own keys live under `x-flotilla` (top level and per service) rather than
 * beside `services`, so an assembly stays a valid Compose file that `docker compose up`
 * still runs on a laptop, and a working Compose file becomes an assembly by adding that
 * block. (A top-level `version` key would collide with Compose's obsolete `version`.)
 */

export { UPDATE_STRATEGIES, UpdateStrategy } from './vocabulary';

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const name = (what: string) =>
  z.string().regex(NAME, `${what} must be lower-case letters, digits, '_', '.', '-' (at most 63), starting with a letter or digit`);

/** The longest duration a release may state: its nanoseconds (the engine's unit) stay exact in a JavaScript number. */
export const MAX_DURATION_MS = 30 * 24 * 3_600_000;
const duration = z.string().refine((s) => {
  const ms = parseDuration(s);
  return ms !== undefined && ms <= MAX_DURATION_MS;
}, 'expected a duration of at most 30 days such as "30s", "1m30s" or "500ms"');

const envValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const environment = z.union([z.record(z.string().min(1), envValue), z.array(z.string().regex(/^[^=]+(=.*)?$/, 'expected KEY=VALUE'))]);

/** Short port syntax: "80", "8080:80", "127.0.0.1:8080:80", any of them with "/udp". */
export const PORT_PATTERN = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/;
const port = z.union([
  z.number().int().min(1).max(65535),
  z
    .string()
    .regex(PORT_PATTERN, 'expected "CONTAINER", "HOST:CONTAINER" or "IP:HOST:CONTAINER", optionally with "/udp"')
    .refine((p) => {
      const match = PORT_PATTERN.exec(p);
      if (!match) return true; // the pattern's own issue says it
      const [, ip, host, container] = match;
      const inRange = (n: string | undefined) => n === undefined || (Number(n) >= 1 && Number(n) <= 65535);
      return inRange(host) && inRange(container) && (ip === undefined || ip.split('.').every((o) => Number(o) <= 255));
    }, 'ports are 1-65535 and an IPv4 address has octets of at most 255'),
]);

/** Short volume syntax: "name:/path", "/host:/path", either with ":ro" or ":rw". */
export const VOLUME_PATTERN = /^([^:]+):(\/[^:]*)(?::(ro|rw))?$/;
const volumeMount = z
  .string()
  .regex(VOLUME_PATTERN, 'expected "VOLUME:/container/path" or "/host/path:/container/path", optionally with ":ro"');

/** The engine runs `["CMD", program, args…]` or `["CMD-SHELL", command]`; `["NONE"]` turns the image's check off. */
const healthcheckTest = z
  .array(z.string())
  .min(1)
  .refine(
    (t) => (t[0] === 'CMD' && t.length >= 2) || (t[0] === 'CMD-SHELL' && t.length === 2) || (t[0] === 'NONE' && t.length === 1),
    'expected ["CMD", program, args…], ["CMD-SHELL", command], ["NONE"], or a string (run by a shell)',
  );
const healthcheck = z
  .object({
    test: z.union([healthcheckTest, z.string().min(1)]),
    interval: duration.optional(),
    timeout: duration.optional(),
    retries: z.number().int().min(1).optional(),
    start_period: duration.optional(),
    disable: z.boolean().optional(),
  })
  .strict();

export { DEPENDENCY_CONDITIONS, RESTART_POLICIES } from './vocabulary';
const dependsOn = z.union([
  z.array(name('a service name')),
  z.record(name('a service name'), z.object({ condition: z.enum(DEPENDENCY_CONDITIONS).default('service_started') }).strict()),
]);

/** `name@version` of a library component, e.g. `mosquitto@2.0.18`. */
export const COMPONENT_REF_PATTERN = /^([a-z0-9][a-z0-9_.-]{0,62})@(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)$/;

const serviceFlotilla = z
  .object({
    update: UpdateStrategy.optional(),
    /**
     * The component may defer updates with an update lock: the agent mounts its lock directory
     * (a lock file and the lock socket) into it at /var/lib/flotilla/lock (agent/README.md, "Update locks").
     */
    updateLock: z.boolean().optional(),
    /** A library component this service is built from; its own keys override the component's defaults. */
    component: z
      .string()
      .regex(COMPONENT_REF_PATTERN, 'expected a library component as "name@version", e.g. "mosquitto@2.0.18"')
      .optional(),
  })
  .strict();

/** The engine refuses a memory limit below 6 MiB. */
export const MIN_MEM_LIMIT_BYTES = 6 * 1024 ** 2;
export const MAX_CPUS = 1024;
/** More services than a device could run: the control plane resolves each image, the agent creates each container. */
export const MAX_SERVICES = 256;

/** The keys a service may carry, shared by library components (which add their own). */
export const serviceFields = {
  image: z.string().min(1, 'an image cannot be empty').refine(isImageReference, IMAGE_REFERENCE_HINT),
  environment: environment.optional(),
  ports: z.array(port).optional(),
  volumes: z.array(volumeMount).optional(),
  command: z.union([z.string(), z.array(z.string())]).optional(),
  entrypoint: z.union([z.string(), z.array(z.string())]).optional(),
  restart: z.enum(RESTART_POLICIES).optional(),
  healthcheck: healthcheck.optional(),
  depends_on: dependsOn.optional(),
  labels: z.union([z.record(z.string(), z.string()), z.array(z.string())]).optional(),
  devices: z.array(z.string().min(1)).optional(),
  cap_add: z.array(z.string().min(1)).optional(),
  mem_limit: z
    .union([z.string(), z.number()])
    .refine((v) => {
      const bytes = parseByteSize(v);
      return bytes !== undefined && bytes >= MIN_MEM_LIMIT_BYTES && bytes <= Number.MAX_SAFE_INTEGER;
    }, 'expected a size from "6m" (the engine\'s least) to a few terabytes, such as "64m" or "1g"')
    .optional(),
  cpus: z
    .union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?$/)])
    .refine((v) => Number(v) >= 0.01 && Number(v) <= MAX_CPUS, `expected a number of CPUs from 0.01 to ${MAX_CPUS}`)
    .optional(),
  networks: z.array(name('a network name')).optional(),
};

export const ServiceManifest = z
  .object({ ...serviceFields, image: serviceFields.image.optional(), 'x-flotilla': serviceFlotilla.optional() })
  .strict()
  .superRefine((s, ctx) => {
    if (s.image === undefined && s['x-flotilla']?.component === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['image'],
        message: 'every service needs an image (Flotilla does not build on the device) or a library component (x-flotilla.component)',
      });
    }
  });
export type ServiceManifest = z.infer<typeof ServiceManifest>;

export const SEMVER_PATTERN = /^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;

export const AssemblyFlotilla = z
  .object({
    version: z.string().regex(SEMVER_PATTERN, 'expected a semantic version such as "1.2.0"'),
    boards: z.array(z.string().min(1)).min(1).optional(),
    /** OS images for the boards' inactive root slots; one per board. */
    os: z
      .array(OsImageSpec.strict())
      .min(1)
      .refine((list) => new Set(list.map((o) => o.board)).size === list.length, 'one OS image per board')
      .optional(),
    /** A device agent version; devices running another one update themselves to it. */
    agent: AgentReleaseSpec.strict().optional(),
    update: z
      .object({
        strategy: UpdateStrategy.optional(),
        probation: duration.optional(),
        /** `false` for offline-first fleets: the probation gate then does not require the control plane to be reachable. */
        requireControlPlane: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const topLevelResource = z.union([z.object({}).passthrough(), z.null()]);

export const AssemblyManifest = z
  .object({
    name: name('the assembly name'),
    services: z
      .record(name('a service name'), ServiceManifest)
      .refine((services) => Object.keys(services).length <= MAX_SERVICES, `at most ${MAX_SERVICES} services in one assembly`),
    volumes: z.record(name('a volume name'), topLevelResource).optional(),
    networks: z.record(name('a network name'), topLevelResource).optional(),
    'x-flotilla': AssemblyFlotilla,
  })
  .strict()
  .refine((m) => Object.keys(m.services).length > 0 || m['x-flotilla'].os !== undefined, {
    path: ['services'],
    message: 'an assembly needs at least one service, or an OS image (x-flotilla.os) for an OS-only release',
  });
export type AssemblyManifest = z.infer<typeof AssemblyManifest>;
