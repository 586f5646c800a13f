import { z } from 'zod';
import { COMPONENT_NAME_PATTERN } from '../assembly/component';
import { SEMVER_PATTERN } from '../assembly/manifest';
import { isValidDeviceId } from '../protocol/topics';
import { RegistryHost } from '../registries/registry-auth';

/**
 * What each kind of path parameter of the API may hold. A route declares the kind of each of its
 * parameters, and a value of the wrong shape is a 400 before any service or query sees it.
 */
export const PATH_PARAMETER_KINDS = {
  uuid: { schema: z.string().uuid(), expected: 'a UUID' },
  deviceId: { schema: z.string().refine(isValidDeviceId), expected: 'a device id: 1-64 of A-Z, a-z, 0-9, "_", "-"' },
  componentName: {
    schema: z.string().regex(COMPONENT_NAME_PATTERN),
    expected: "a component name: lower-case letters, digits, '_', '.', '-'",
  },
  version: { schema: z.string().regex(SEMVER_PATTERN), expected: 'a semantic version such as 1.2.0' },
  registryHost: { schema: RegistryHost, expected: 'a registry host such as registry.example.com or 127.0.0.1:5001' },
  signingKeyId: {
    schema: z.string().regex(/^ed25519:[0-9a-f]{16}$/),
    expected: 'a signing key id such as ed25519:0123456789abcdef',
  },
  sha256Digest: { schema: z.string().regex(/^sha256:[0-9a-f]{64}$/), expected: 'a digest: sha256: and 64 lower-case hex digits' },
} as const;

export type PathParameterKind = keyof typeof PATH_PARAMETER_KINDS;
