/** Where a RabbitMQ node reads its TLS files (PEM). */
export interface RabbitMqTlsFiles {
  /** The server certificate, issued by the CA devices pin (`<dataDir>/tls/public.pem`, tls/shared-tls.ts). */
  certFile: string;
  keyFile: string;
  /** The device CA's certificate (`<dataDir>/tls/device-ca.pem`): client certificates are verified against it alone. */
  deviceCaFile: string;
}

/**
 * The rabbitmq.conf lines of the devices' MQTT listener (`listener`: `8883` or `host:port`), as
 * the embedded broker's TLS listener behaves: TLS 1.2 at least, the server certificate from
 * Flotilla's CA, a client certificate verified against the device CA (never the server CA: a
 * device certificate cannot pass for the server, nor a server certificate for a device), and its
 * subject CN as the username (`ssl_cert_login`), which Flotilla's auth routes then accept or
 * refuse. A client without a certificate may still log in with a password (devices registered
 * before certificates); with a certificate and no username, the certificate decides. The plain
 * MQTT listener is not part of this: leave it off, or on loopback for local tools.
 *
 * RabbitMQ asks its internal user database first, and it accepts a certificate login for any
 * internal user of that name: internal users (the control plane's `flotilla`) must never be
 * possible device ids, which the device CA issues only as `dev_<random>`.
 */
export function deviceTlsListenerConfig(listener: string, files: RabbitMqTlsFiles): string[] {
  return [
    `mqtt.listeners.ssl.default = ${listener}`,
    `ssl_options.certfile = ${files.certFile}`,
    `ssl_options.keyfile = ${files.keyFile}`,
    `ssl_options.cacertfile = ${files.deviceCaFile}`,
    `ssl_options.verify = verify_peer`,
    // A certificate that fails verification ends the handshake; no certificate leaves the password login.
    `ssl_options.fail_if_no_peer_cert = false`,
    `ssl_options.versions.1 = tlsv1.3`,
    `ssl_options.versions.2 = tlsv1.2`,
    `mqtt.ssl_cert_login = true`,
    `ssl_cert_login_from = common_name`,
  ];
}
