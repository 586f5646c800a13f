import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';

/** The device's private key (PKCS#8 PEM, mode 0600): made on the device, never sent anywhere. */
export const DEVICE_KEY_FILE = 'device-key.pem';
/** The client certificate the control plane's device CA issued for that key. */
export const DEVICE_CERT_FILE = 'device-cert.pem';

export interface DeviceKey {
  key: KeyObject;
  pem: string;
}

/** The stored key, or a new ECDSA P-256 key stored first (so that a retried registration asks for the same key). */
export async function loadOrCreateDeviceKey(stateDir: string): Promise<DeviceKey> {
  const path = join(stateDir, DEVICE_KEY_FILE);
  const stored = await readFileIfExists(path);
  if (stored !== undefined) return { key: createPrivateKey(stored), pem: stored };
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFileAtomic(path, pem, 0o600);
  return { key: privateKey, pem };
}

/**
 * When to ask for a new certificate: at two thirds of its validity, so that a third is left
 * for retries (a device offline for a while still renews in time).
 */
export function renewalTime(certPem: string): Date {
  const cert = new X509Certificate(certPem);
  const notBefore = new Date(cert.validFrom).getTime();
  const notAfter = new Date(cert.validTo).getTime();
  return new Date(notAfter - (notAfter - notBefore) / 3);
}

export function certificateExpiry(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}
