import type { ServerOptions } from 'node:http';

/**
 * How long a connection to any listener of the control plane may go without doing its part, so
 * that a client on the internet cannot hold sockets and memory by being slow (slowloris, a TLS
 * handshake never finished, an MQTT connection that never logs in). Each bound is far above what
 * the slowest legitimate client needs (a device on a cellular link, an operator uploading a
 * release) and far below Node's and aedes' defaults (docs/architecture.md, "Connection bounds").
 * Not settings: nothing a deployment does needs other values; tests shorten them (StartOptions).
 */
export interface ConnectionBounds {
  /** HTTP: from a connection's opening (or the end of the previous request) until a request's headers are in. */
  headersMs: number;
  /** HTTP: until a request is in whole, body included. */
  requestMs: number;
  /** HTTP: a keep-alive connection idle between requests. */
  keepAliveMs: number;
  /** How often Node checks the two request bounds above: a slow request is cut within its bound plus this. */
  checkIntervalMs: number;
  /** TLS (HTTPS and MQTT): from the TCP connection until the handshake is complete. */
  tlsHandshakeMs: number;
  /** MQTT: from the connection (after its TLS handshake) until its CONNECT packet is in whole. */
  mqttConnectMs: number;
  /** MQTT: from a whole CONNECT until its login is answered; past it, "server unavailable" (CONNACK 3). */
  mqttLoginMs: number;
  /** HTTP: an answer waiting to be sent of which the client takes nothing for this long is cut (send-stall-watch.ts). */
  sendStallMs: number;
  /** How often the answers waiting to be sent are looked at: a stalled one is cut within its bound plus this. */
  sendCheckMs: number;
}

export const CONNECTION_BOUNDS: ConnectionBounds = {
  // One packet of headers from any client; 10 s is a handful of round trips on the worst link.
  headersMs: 10_000,
  // The largest body the API takes is about 1.3 MiB (body-parsers.ts): at 25 KiB/s, within a minute.
  requestMs: 60_000,
  // Node's default, written down: browsers and the CLI reuse a connection within it.
  keepAliveMs: 5_000,
  checkIntervalMs: 1_000,
  // A handshake is two or three round trips; Node's default (120 s) let a silent client hold a socket for two minutes.
  tlsHandshakeMs: 10_000,
  // The agent sends CONNECT as soon as TCP (and TLS) is up; aedes' default is 30 s.
  mqttConnectMs: 10_000,
  // A login is answered from memory; only a device not in memory waits on a read, which a stuck
  // database would make endless, and aedes runs no timer between CONNECT and CONNACK.
  mqttLoginMs: 10_000,
  // A live link moves some bytes within a minute, however slow: TCP retransmits on its own. A
  // device fetching a delta over a cellular link is the slowest reader.
  sendStallMs: 60_000,
  // Each check looks at every open HTTP connection: rarely enough to cost nothing with thousands.
  sendCheckMs: 5_000,
};

/** Largest request head (request line and headers): Node's default, stated here so that it stays one. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** The options of every HTTP(S) server the control plane opens. */
export function httpServerOptions(bounds: ConnectionBounds): ServerOptions {
  return {
    headersTimeout: bounds.headersMs,
    requestTimeout: bounds.requestMs,
    keepAliveTimeout: bounds.keepAliveMs,
    connectionsCheckingInterval: bounds.checkIntervalMs,
    maxHeaderSize: MAX_HEADER_BYTES,
  };
}
