import { z } from 'zod';
import { IMAGE_REFERENCE_HINT, isImageReference } from './image-reference';
import { SEMVER_PATTERN, UpdateStrategy, serviceFields } from './manifest';

/**
 * A library component: a container image pinned by digest and the defaults a service built
 * from it starts with. Authored like a Compose service (YAML or JSON) plus `name`, `version`
 * and `config`. It has no `depends_on` or `networks`: those describe an assembly, not a part.
 */

export const COMPONENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
/** An image reference that ends in a digest: what a release may run, byte for byte. */
export const DIGEST_IMAGE_PATTERN = /^[^\s@]+@sha256:[0-9a-f]{64}$/;
/** Configuration keys are environment variable names. */
export const CONFIG_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export const CONFIG_TYPES = ['string', 'number', 'boolean'] as const;

/**
 * One configuration key a component accepts. The key is an environment variable the
 * component reads: its default lands in the service's environment unless the assembly sets
 * it, and a value the assembly sets is checked against `type`.
 */
export const ComponentConfigKey = z
  .object({
    type: z.enum(CONFIG_TYPES).default('string'),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    description: z.string().max(1000).optional(),
    /** A required key without a default must be set by every assembly using the component. */
    required: z.boolean().default(false),
  })
  .strict();
export type ComponentConfigKey = z.infer<typeof ComponentConfigKey>;

const { environment, ports, volumes, command, entrypoint, restart, healthcheck, labels, devices, cap_add, mem_limit, cpus } = serviceFields;
const defaults = { environment, ports, volumes, command, entrypoint, restart, healthcheck, labels, devices, cap_add, mem_limit, cpus };

export const ComponentManifest = z
  .object({
    name: z.string().regex(COMPONENT_NAME_PATTERN, "a component name is lower-case letters, digits, '_', '.', '-' (at most 63)"),
    version: z.string().regex(SEMVER_PATTERN, 'expected a semantic version such as "1.2.0"'),
    description: z.string().max(2000).optional(),
    image: z
      .string()
      .regex(DIGEST_IMAGE_PATTERN, 'a component image must be pinned by digest: "registry/repo@sha256:<64 hex>"')
      .refine(isImageReference, IMAGE_REFERENCE_HINT),
    ...defaults,
    'x-flotilla': z.object({ update: UpdateStrategy.optional() }).strict().optional(),
    config: z
      .record(z.string().regex(CONFIG_KEY_PATTERN, 'a configuration key is an environment variable name'), ComponentConfigKey)
      .default({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const [key, spec] of Object.entries(c.config)) {
      if (spec.default !== undefined && configValueIssue(spec.type, String(spec.default)) !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['config', key, 'default'], message: `default is not a ${spec.type}` });
      }
    }
  });
export type ComponentManifest = z.infer<typeof ComponentManifest>;

/** Why `value` (an environment value, so text) is not of `type`, or undefined when it is. */
export function configValueIssue(type: ComponentConfigKey['type'], value: string): string | undefined {
  if (type === 'number' && (value.trim() === '' || !Number.isFinite(Number(value)))) return `expected a number, got "${value}"`;
  if (type === 'boolean' && value !== 'true' && value !== 'false') return `expected true or false, got "${value}"`;
  return undefined;
}
