import { z } from 'zod';
import { ReleaseKey } from '../releases/signing';

/**
 * `provisioning.json`, written to a board's boot partition when its image is built or
 * configured: where the control plane is and a fleet-scoped token to register with.
 */
const PEM_CERTIFICATE = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;

/** One PEM certificate (a CA a device pins, or a device's own certificate). */
export const PemCertificate = z.string().max(16_384).regex(PEM_CERTIFICATE, 'expected one PEM certificate');

/**
 * The authority of a URL a device is given: a host name, an IPv4 address or a bracketed IPv6
 * address, and a port. No user info: a password in a URL is no place for a secret (it is
 * logged with the URL and stored in the device's credential), and `user@evil` reads as a host.
 */
const HOST_AND_PORT = String.raw`[A-Za-z0-9._~%-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?`;
/** A URL path of RFC 3986 characters only (no space, control character, query or fragment). */
const PATH = String.raw`(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)`;

/** Whether `url` is an http(s) URL a device may be sent to: see `ApiUrl`. */
export const API_URL = new RegExp(`^https?://(?:${HOST_AND_PORT})${PATH}?$`);

/** Where a device reaches the API: `http://` or `https://`, a host and port, an optional path. */
export const ApiUrl = z.string().max(2048).regex(API_URL, 'expected http(s)://host:port[/path], without user info, query or fragment');

/** `mqtt://` and `mqtts://` (TCP, TLS) or `ws://` and `wss://` with a path (WebSocket, e.g. `/mqtt`). */
export const MQTT_URL = new RegExp(`^(?:mqtts?://(?:${HOST_AND_PORT})|wss?://(?:${HOST_AND_PORT})${PATH})$`);

export const MqttUrl = z
  .string()
  .max(2048)
  .regex(MQTT_URL, 'expected mqtt://host:port, mqtts://host:port or wss://host:port/mqtt, without user info');

/** Whether the URL is TLS-protected (https, mqtts, wss). */
export function isSecureUrl(url: string): boolean {
  return /^(https|mqtts|wss):\/\//.test(url);
}

/**
 * `provisioning.json`, written to a board's boot partition when its image is built or
 * configured: where the control plane is, the CAs to verify it with, and a fleet-scoped token
 * to register with. Over TLS the device trusts only `caCertificates` (no system CAs), from the
 * very first request.
 */
export const ProvisioningFile = z
  .object({
    schema: z.literal(1),
    apiUrl: ApiUrl,
    mqttUrl: MqttUrl,
    token: z.string().min(16),
    // Within what registration takes (RegisterDeviceRequest): one image serves many boards.
    name: z.string().min(1).max(128).optional(),
    board: z.string().min(1).max(64).optional(),
    /** The control plane's release-signing public keys, pinned by the device. */
    releaseKeys: z.array(ReleaseKey).min(1),
    /** The CA certificate(s), PEM, that the control plane's HTTPS and MQTT certificates chain to. */
    caCertificates: z.array(PemCertificate).min(1).max(16).optional(),
  })
  .refine((p) => p.caCertificates !== undefined || (!isSecureUrl(p.apiUrl) && !isSecureUrl(p.mqttUrl)), {
    message: 'https, mqtts and wss URLs need caCertificates: the device trusts no other CA',
    path: ['caCertificates'],
  });
export type ProvisioningFile = z.infer<typeof ProvisioningFile>;

/**
 * What the agent keeps in its state directory once it has registered. A device holds a
 * client certificate (key and certificate in files beside this one) or, when registered
 * before certificates or with a control plane that issues none, a password.
 */
export const DeviceCredential = z.object({
  schema: z.literal(1),
  deviceId: z.string(),
  password: z.string().min(16).optional(),
  apiUrl: z.string().url(),
  mqttUrl: z.string(),
  releaseKeys: z.array(ReleaseKey).min(1),
  /** Pinned from the provisioning file: the only CAs the device trusts for HTTPS and MQTT. */
  caCertificates: z.array(PemCertificate).min(1).optional(),
});
export type DeviceCredential = z.infer<typeof DeviceCredential>;
