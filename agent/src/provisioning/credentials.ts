import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeviceCredential, ProvisioningFile, RegisterDeviceResponse, type RegisterDeviceRequest } from '@flotilla/shared';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { backoffMs, type Clock } from '../support/clock';
import { errorMessage, isTerminal } from '../support/errors';
import type { Logger } from '../support/logger';
import { CredentialFileError, ProvisioningFileError, RegistrationRejectedError, RegistrationUnavailableError } from './errors';

export interface CredentialOptions {
  provisioningPath: string;
  stateDir: string;
  clock: Clock;
  logger: Logger;
  fetch?: typeof globalThis.fetch;
  signal?: AbortSignal;
}

export const CREDENTIAL_FILE = 'credential.json';

/**
 * The device's identity: the stored credential if it has one, otherwise it registers
 * with the token from the provisioning file and stores what it gets (mode 0600, since
 * the password is the device's only proof of identity). Network failures are retried
 * with backoff until `signal` aborts; a refusal (4xx) is terminal.
 */
export async function loadOrRegister(options: CredentialOptions): Promise<DeviceCredential> {
  const credentialPath = join(options.stateDir, CREDENTIAL_FILE);
  const stored = await readCredential(credentialPath);
  if (stored) return stored;

  const provisioning = await readProvisioningFile(options.provisioningPath);
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await register(provisioning, options.fetch ?? globalThis.fetch, options.signal);
      const credential: DeviceCredential = {
        schema: 1,
        deviceId: response.deviceId,
        password: response.password,
        apiUrl: provisioning.apiUrl,
        mqttUrl: response.mqttUrl || provisioning.mqttUrl,
        // Pinned from the provisioning file (written when the board was imaged), not from the
        // network answer: a release is trusted only if one of these keys signed it.
        releaseKeys: provisioning.releaseKeys,
      };
      await writeFileAtomic(credentialPath, JSON.stringify(DeviceCredential.parse(credential), null, 2) + '\n', 0o600);
      options.logger.info('registered', { deviceId: credential.deviceId, mqttUrl: credential.mqttUrl });
      return credential;
    } catch (err) {
      if (isTerminal(err) || options.signal?.aborted) throw err;
      const wait = backoffMs(attempt);
      options.logger.warn('registration failed, retrying', { error: errorMessage(err), retryInMs: wait });
      await options.clock.sleep(wait, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}

async function readCredential(path: string): Promise<DeviceCredential | undefined> {
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  const parsed = DeviceCredential.safeParse(safeJson(text));
  if (!parsed.success)
    throw new CredentialFileError(path, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}

export async function readProvisioningFile(path: string): Promise<ProvisioningFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ProvisioningFileError(path, errorMessage(err));
  }
  const parsed = ProvisioningFile.safeParse(safeJson(text));
  if (!parsed.success)
    throw new ProvisioningFileError(path, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}

async function register(p: ProvisioningFile, fetch: typeof globalThis.fetch, signal?: AbortSignal) {
  const url = `${p.apiUrl.replace(/\/+$/, '')}/api/v1/devices/register`;
  const body: RegisterDeviceRequest = { token: p.token, ...(p.name ? { name: p.name } : {}), ...(p.board ? { board: p.board } : {}) };
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new RegistrationUnavailableError(url, errorMessage(err), err);
  }
  const text = await res.text().catch(() => '');
  if (res.status >= 400 && res.status < 500) throw new RegistrationRejectedError(res.status, serverMessage(text) ?? res.statusText);
  if (!res.ok) throw new RegistrationUnavailableError(url, `HTTP ${res.status} ${serverMessage(text) ?? res.statusText}`);
  const parsed = RegisterDeviceResponse.safeParse(safeJson(text));
  if (!parsed.success)
    throw new RegistrationUnavailableError(url, `unexpected response body: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The `message` of an API error body (shared `ApiError`), when there is one. */
function serverMessage(text: string): string | undefined {
  const json = safeJson(text) as { message?: unknown } | undefined;
  if (typeof json?.message === 'string') return json.message;
  return text.trim().slice(0, 200) || undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
