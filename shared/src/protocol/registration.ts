import { z } from 'zod';
import { PemCertificate } from './provisioning';
import { ReleaseKey } from '../releases/signing';

/**
 * The device's registration with the control plane over HTTPS (`POST /api/v1/devices/register`,
 * `POST /api/v1/devices/certificate`): device protocol, so it is in the device entry (device.ts).
 */

const PemCertificateRequest = z
  .string()
  .max(16_384)
  .regex(
    /^-----BEGIN CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE REQUEST-----\r?\n?$/,
    'expected one PEM certificate request',
  );

export const RegisterDeviceRequest = z
  .object({
    token: z.string().min(1),
    name: z.string().min(1).max(128).optional(),
    board: z.string().min(1).max(64).optional(),
    /** PEM PKCS#10 request for the device's own key: the answer then carries a client certificate instead of a password. */
    csr: PemCertificateRequest.optional(),
  })
  .strict();
export type RegisterDeviceRequest = z.infer<typeof RegisterDeviceRequest>;

export const RegisterDeviceResponse = z.object({
  deviceId: z.string(),
  /** The device's own MQTT password, shown once and stored hashed; only when it sent no CSR (or certificates are off). */
  password: z.string().optional(),
  /** The client certificate issued from the CSR (subject CN = device id). */
  certificate: PemCertificate.optional(),
  mqttUrl: z.string(),
  /** The control plane's release-signing public keys, current at registration: what the device pins. */
  releaseKeys: z.array(ReleaseKey).min(1),
});
export type RegisterDeviceResponse = z.infer<typeof RegisterDeviceResponse>;

/**
 * `POST /api/v1/devices/certificate`: a new client certificate for the key in `csr`. The
 * device proves who it is with its current certificate (renewal: the CSR must be for that
 * certificate's key, and its signature proves the device holds it) or, to move a password
 * device to certificates, with its password.
 */
export const DeviceCertificateRequest = z
  .object({
    csr: PemCertificateRequest,
    proof: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('certificate'), certificate: PemCertificate }).strict(),
      z.object({ kind: z.literal('password'), deviceId: z.string().min(1).max(64), password: z.string().min(1).max(256) }).strict(),
    ]),
  })
  .strict();
export type DeviceCertificateRequest = z.infer<typeof DeviceCertificateRequest>;

export const DeviceCertificateResponse = z.object({
  deviceId: z.string(),
  certificate: PemCertificate,
  notAfter: z.string(),
});
export type DeviceCertificateResponse = z.infer<typeof DeviceCertificateResponse>;
