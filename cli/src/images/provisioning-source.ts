import { readFile } from 'node:fs/promises';
import { ProvisioningFile, ProvisioningTokenView } from '@flotilla/shared';
import { ImageToolError } from './errors';

/** A ready provisioning.json, e.g. saved from `POST /api/v1/provisioning-tokens`. */
export async function readProvisioningFile(path: string): Promise<ProvisioningFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new ImageToolError('provisioning-unreadable', `cannot read ${path} as JSON: ${(e as Error).message}`);
  }
  return parseProvisioning(raw, path);
}

/**
 * Asks the control plane for a fleet-scoped provisioning token and returns the
 * provisioning.json it hands out with it. `fleet` is the fleet's id.
 */
export async function createFleetProvisioning(api: { url: string; key: string }, fleet: string, maxUses = 1000): Promise<ProvisioningFile> {
  const response = await fetch(new URL('/api/v1/provisioning-tokens', api.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fleetId: fleet, maxUses, expiresInSeconds: 365 * 24 * 3600 }),
  });
  if (!response.ok)
    throw new ImageToolError(
      'provisioning-api-failed',
      `POST ${api.url}/api/v1/provisioning-tokens for fleet ${fleet} answered ${response.status}: ${(await response.text()).slice(0, 500)}`,
    );
  const view = ProvisioningTokenView.safeParse(await response.json());
  if (!view.success) throw new ImageToolError('provisioning-api-failed', `the control plane's token answer is not a ProvisioningTokenView`);
  return view.data.provisioning;
}

export function parseProvisioning(raw: unknown, source: string): ProvisioningFile {
  const result = ProvisioningFile.safeParse(raw);
  if (!result.success)
    throw new ImageToolError(
      'provisioning-invalid',
      `${source} is not a provisioning file: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return result.data;
}

/** Stable bytes for the boot partition (key order as parsed, two-space indent, final newline). */
export function renderProvisioning(file: ProvisioningFile): string {
  return JSON.stringify(file, null, 2) + '\n';
}
