import { join } from 'node:path';
import {
  DeviceCredential,
  MqttUrl,
  RegisterDeviceResponse,
  isSecureUrl,
  type ProvisioningFile,
  type RegisterDeviceRequest,
} from '@flotilla/shared/device';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { backoffMs, type Clock } from '../support/clock';
import { errorMessage, isTerminal } from '../support/errors';
import type { Logger } from '../support/logger';
import { certificateRequest } from './certificate-request';
import { DEVICE_CERT_FILE, DEVICE_KEY_FILE, loadOrCreateDeviceKey } from './device-key';
import { CredentialFileError, RegistrationRejectedError, RegistrationUnavailableError } from './errors';
import { postJson, type PostJson } from './pinned-http';
import { readProvisioningFile, removeUsedToken, safeJson } from './provisioning-file';
import { assertPrivateStateDir, keepSecretsPrivate } from './state-dir';

export { safeJson };

export interface CredentialOptions {
  provisioningPath: string;
  stateDir: string;
  clock: Clock;
  logger: Logger;
  post?: PostJson;
  signal?: AbortSignal;
}

export const CREDENTIAL_FILE = 'credential.json';

/** Who the device is and how it proves it: a client certificate (and its key), or a password in the credential. */
export interface DeviceIdentity {
  credential: DeviceCredential;
  certificate?: { certPem: string; keyPem: string };
}

/**
 * The device's identity: the stored one if it has registered, otherwise it registers with
 * the token from the provisioning file and stores what it gets (mode 0600). Over TLS the
 * device makes its own key and sends a CSR: the answer is a client certificate, and the key
 * never leaves the device. Network failures are retried with backoff until `signal` aborts;
 * a refusal (4xx) is terminal.
 */
export async function loadOrRegister(options: CredentialOptions): Promise<DeviceIdentity> {
  // First, before anything in it is believed: every later reader of the state dir relies on this.
  await assertPrivateStateDir(options.stateDir);
  await keepSecretsPrivate(options.stateDir, options.logger);
  const credentialPath = join(options.stateDir, CREDENTIAL_FILE);
  const stored = await readCredential(credentialPath);
  if (stored) {
    const credential = await adoptPinnedCas(stored, credentialPath, options);
    await removeUsedToken(options.provisioningPath, options.logger);
    return { credential, ...(await readCertificate(options.stateDir)) };
  }

  const provisioning = await readProvisioningFile(options.provisioningPath);
  // Over TLS only: a certificate is worth something only where the broker checks it in a handshake.
  const key = provisioning.caCertificates ? await loadOrCreateDeviceKey(options.stateDir) : undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const csr = key && certificateRequest(key.key, provisioning.name ?? 'new-device');
      const response = await register(provisioning, csr, options.post ?? postJson, options.signal);
      if (response.certificate && key) await writeFileAtomic(join(options.stateDir, DEVICE_CERT_FILE), response.certificate, 0o644);
      else if (!response.password)
        throw new RegistrationUnavailableError(provisioning.apiUrl, 'the answer carries neither a certificate nor a password');
      const credential: DeviceCredential = {
        schema: 1,
        deviceId: response.deviceId,
        ...(response.password ? { password: response.password } : {}),
        apiUrl: provisioning.apiUrl,
        mqttUrl: brokerUrl(provisioning, response.mqttUrl, options.logger),
        // Pinned from the provisioning file (written when the board was imaged), not from the
        // network answer: a release is trusted only if one of these keys signed it, and the
        // control plane only if its certificate chains to one of these CAs.
        releaseKeys: provisioning.releaseKeys,
        ...(provisioning.caCertificates ? { caCertificates: provisioning.caCertificates } : {}),
      };
      await writeFileAtomic(credentialPath, JSON.stringify(DeviceCredential.parse(credential), null, 2) + '\n', 0o600);
      options.logger.info('registered', {
        deviceId: credential.deviceId,
        mqttUrl: credential.mqttUrl,
        certificate: !!response.certificate,
      });
      await removeUsedToken(options.provisioningPath, options.logger);
      const certificate = response.certificate && key ? { certificate: { certPem: response.certificate, keyPem: key.pem } } : {};
      return { credential, ...certificate };
    } catch (err) {
      if (isTerminal(err) || options.signal?.aborted) throw err;
      const wait = backoffMs(attempt);
      options.logger.warn('registration failed, retrying', { error: errorMessage(err), retryInMs: wait });
      await options.clock.sleep(wait, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}

/**
 * A device registered before the control plane spoke TLS holds no CA. When the provisioning
 * file on its boot partition (a local file, not the network) now carries CAs and TLS URLs,
 * the device moves to them; with its password it then asks for a certificate
 * (certificate-renewal.ts). This is how a fleet provisioned before moves to certificates.
 */
async function adoptPinnedCas(stored: DeviceCredential, path: string, options: CredentialOptions): Promise<DeviceCredential> {
  if (stored.caCertificates) return stored;
  const file = await readProvisioningFile(options.provisioningPath).catch(() => undefined);
  if (!file?.caCertificates) return stored;
  const moved: DeviceCredential = { ...stored, apiUrl: file.apiUrl, mqttUrl: file.mqttUrl, caCertificates: file.caCertificates };
  await writeFileAtomic(path, JSON.stringify(DeviceCredential.parse(moved), null, 2) + '\n', 0o600);
  options.logger.info('moved to TLS with the CAs of the provisioning file', { apiUrl: moved.apiUrl, mqttUrl: moved.mqttUrl });
  return moved;
}

/**
 * The broker the registration answer names, unless it would lower the protection the
 * provisioning file set up: a device provisioned for TLS never takes a plain URL. Any URL is
 * verified against the pinned CAs alone, so another address works only if its certificate
 * chains to them.
 */
export function brokerUrl(provisioning: ProvisioningFile, answered: string | undefined, logger: Logger): string {
  if (!answered) return provisioning.mqttUrl;
  if (!MqttUrl.safeParse(answered).success) {
    logger.warn('ignoring a malformed broker URL from the registration answer', { answered, using: provisioning.mqttUrl });
    return provisioning.mqttUrl;
  }
  if (isSecureUrl(provisioning.mqttUrl) && !isSecureUrl(answered)) {
    logger.warn('ignoring a plain broker URL from the registration answer', { answered, using: provisioning.mqttUrl });
    return provisioning.mqttUrl;
  }
  return answered;
}

async function readCertificate(stateDir: string): Promise<Omit<DeviceIdentity, 'credential'>> {
  const [certPem, keyPem] = await Promise.all([
    readFileIfExists(join(stateDir, DEVICE_CERT_FILE)),
    readFileIfExists(join(stateDir, DEVICE_KEY_FILE)),
  ]);
  return certPem && keyPem ? { certificate: { certPem, keyPem } } : {};
}

async function readCredential(path: string): Promise<DeviceCredential | undefined> {
  const text = await readFileIfExists(path);
  if (text === undefined) return undefined;
  const parsed = DeviceCredential.safeParse(safeJson(text));
  if (!parsed.success)
    throw new CredentialFileError(path, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return parsed.data;
}

async function register(p: ProvisioningFile, csr: string | undefined, post: PostJson, signal?: AbortSignal) {
  const url = `${p.apiUrl.replace(/\/+$/, '')}/api/v1/devices/register`;
  const body: RegisterDeviceRequest = {
    token: p.token,
    ...(p.name ? { name: p.name } : {}),
    ...(p.board ? { board: p.board } : {}),
    ...(csr ? { csr } : {}),
  };
  let res: { status: number; text: string };
  try {
    res = await post(url, body, { ...(p.caCertificates ? { ca: p.caCertificates } : {}), ...(signal ? { signal } : {}) });
  } catch (err) {
    if (isTerminal(err)) throw err;
    throw new RegistrationUnavailableError(url, errorMessage(err), err);
  }
  const text = res.text;
  if (res.status >= 400 && res.status < 500) throw new RegistrationRejectedError(res.status, serverMessage(text) ?? `HTTP ${res.status}`);
  if (res.status < 200 || res.status >= 300) throw new RegistrationUnavailableError(url, `HTTP ${res.status} ${serverMessage(text) ?? ''}`);
  const parsed = RegisterDeviceResponse.safeParse(safeJson(text));
  if (!parsed.success)
    throw new RegistrationUnavailableError(url, `unexpected response body: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The `message` of an API error body (shared `ApiError`), when there is one. */
export function serverMessage(text: string): string | undefined {
  const json = safeJson(text) as { message?: unknown } | undefined;
  if (typeof json?.message === 'string') return json.message;
  return text.trim().slice(0, 200) || undefined;
}
