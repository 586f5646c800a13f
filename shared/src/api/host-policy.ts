import { z } from 'zod';

const hostPath = z
  .string()
  .regex(/^\/[^\0:]*$/, 'an absolute host path')
  .max(4096)
  .refine((p) => !p.split('/').includes('..'), 'a path without ".."');
const capability = z
  .string()
  .regex(/^(CAP_)?[A-Z_]{2,32}$/i, 'a Linux capability such as NET_ADMIN, or ALL')
  .transform((c) => c.toUpperCase().replace(/^CAP_/, ''));

/**
 * What a fleet's releases may do to the host beyond an ordinary container, set by an admin
 * per fleet. Everything else a release can ask for (privileged mode, host network, PID or IPC
 * namespaces, security options, sysctls) the assembly schema does not accept at all.
 * Empty lists (the default) allow none of it; devices outside any fleet get the default.
 */
export const HostPolicy = z
  .object({
    /** Host paths that bind mounts may use: the path itself and anything under it ("/" for any). */
    bindMounts: z.array(hostPath).max(64).default([]),
    /** Host device nodes a component may be given, the same way ("/dev/i2c-1", "/dev/bus/usb"). */
    devices: z.array(hostPath).max(64).default([]),
    /** Capabilities `cap_add` may add (NET_ADMIN, SYS_TIME…), or ALL. */
    capabilities: z.array(capability).max(64).default([]),
  })
  .strict();
export type HostPolicy = z.infer<typeof HostPolicy>;

export const EMPTY_HOST_POLICY: HostPolicy = { bindMounts: [], devices: [], capabilities: [] };

export const FleetHostPolicyView = z.object({
  fleetId: z.string(),
  policy: HostPolicy,
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
});
export type FleetHostPolicyView = z.infer<typeof FleetHostPolicyView>;
