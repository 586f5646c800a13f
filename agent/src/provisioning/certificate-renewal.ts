import { join } from 'node:path';
import { DeviceCertificateResponse, isSecureUrl, type DeviceCertificateRequest, type DeviceCredential } from '@flotilla/shared/device';
import { writeFileAtomic } from '../state/atomic-file';
import { backoffMs, type Clock } from '../support/clock';
import { errorMessage, isTerminal } from '../support/errors';
import type { Logger } from '../support/logger';
import { safeJson, serverMessage } from './credentials';
import { certificateRequest } from './certificate-request';
import { DEVICE_CERT_FILE, certificateExpiry, loadOrCreateDeviceKey, renewalTime } from './device-key';
import { CertificateRenewalRefusedError } from './errors';
import { postJson, type PostJson } from './pinned-http';

export interface DeviceCertificate {
  certPem: string;
  keyPem: string;
}

export interface CertificateRenewalOptions {
  stateDir: string;
  credential: Pick<DeviceCredential, 'deviceId' | 'password' | 'apiUrl' | 'caCertificates'>;
  /** The certificate the device holds now; none for a password device (it then asks for its first one). */
  current: DeviceCertificate | undefined;
  /** Called with each new certificate, already stored: the MQTT link presents it from its next connect on. */
  onCertificate: (certificate: DeviceCertificate) => void;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  post?: PostJson;
}

/** setTimeout holds at most 2^31-1 ms (24.8 days); longer waits are taken in steps. */
const MAX_SLEEP_MS = 24 * 3600_000;

/**
 * Keeps the device's client certificate current, over HTTPS verified against the pinned CAs:
 * at two thirds of its validity it asks for a new one for the same key, proving itself with
 * the current certificate (the CSR's signature proves it holds the key). A password device
 * asks for its first certificate with its password (how fleets provisioned before
 * certificates move to them). The running assembly and the live MQTT connection are not
 * touched: the new certificate is used from the next connect. Runs until `signal` aborts.
 */
export async function keepCertificateCurrent(options: CertificateRenewalOptions): Promise<void> {
  const { credential, clock, logger, signal } = options;
  if (!credential.caCertificates || !isSecureUrl(credential.apiUrl)) return; // no TLS to the control plane: nothing to renew over
  let current = options.current;
  if (!current && !credential.password) return;
  for (let attempt = 0; !signal.aborted;) {
    if (current) await sleepUntil(renewalTime(current.certPem), clock, signal);
    if (signal.aborted) return;
    try {
      current = await requestCertificate(options, current);
      attempt = 0;
      logger.info('device certificate renewed', { notAfter: certificateExpiry(current.certPem).toISOString() });
      options.onCertificate(current);
    } catch (err) {
      if (isTerminal(err)) {
        logger.error('device certificate not renewed', { error: errorMessage(err) });
        return;
      }
      const wait = backoffMs(attempt++, 5_000, 15 * 60_000);
      logger.warn('device certificate renewal failed, retrying', { error: errorMessage(err), retryInMs: wait });
      await clock.sleep(wait, signal);
    }
  }
}

async function requestCertificate(options: CertificateRenewalOptions, current: DeviceCertificate | undefined): Promise<DeviceCertificate> {
  const { credential, stateDir } = options;
  const key = await loadOrCreateDeviceKey(stateDir);
  const proof: DeviceCertificateRequest['proof'] = current
    ? { kind: 'certificate', certificate: current.certPem }
    : { kind: 'password', deviceId: credential.deviceId, password: credential.password! };
  const body: DeviceCertificateRequest = { csr: certificateRequest(key.key, credential.deviceId), proof };
  const url = `${credential.apiUrl.replace(/\/+$/, '')}/api/v1/devices/certificate`;
  const res = await (options.post ?? postJson)(url, body, { ca: credential.caCertificates!, signal: options.signal });
  if (res.status >= 400 && res.status < 500) throw new CertificateRenewalRefusedError(res.status, serverMessage(res.text) ?? '');
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status} from ${url}: ${serverMessage(res.text) ?? ''}`);
  const parsed = DeviceCertificateResponse.safeParse(safeJson(res.text));
  if (!parsed.success) throw new Error(`unexpected answer from ${url}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  await writeFileAtomic(join(stateDir, DEVICE_CERT_FILE), parsed.data.certificate, 0o644);
  return { certPem: parsed.data.certificate, keyPem: key.pem };
}

async function sleepUntil(at: Date, clock: Clock, signal: AbortSignal): Promise<void> {
  for (let left = at.getTime() - clock.now().getTime(); left > 0 && !signal.aborted; left = at.getTime() - clock.now().getTime()) {
    await clock.sleep(Math.min(left, MAX_SLEEP_MS), signal);
  }
}
