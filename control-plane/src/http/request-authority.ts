import { isIPv6 } from 'node:net';
import { InvalidInputError } from '../domain-error';

/** The host a request was sent to, from its `Host` header, checked and lower-cased. */
export interface RequestAuthority {
  /** Host and port, as a URL's authority: `fleet.example:8443`, `[::1]:3000`. */
  host: string;
  /** Without the port; an IPv6 address in brackets. */
  hostname: string;
}

/** A DNS name or IPv4 address: labels of letters, digits, `-` and `_` (proxies name upstreams so), dot-separated. */
const NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/;
const MAX_NAME_LENGTH = 253;

/** Node keeps one `Host` header, always a string; the header type allows more. */
export function hostHeader(request: { headers: Record<string, unknown> }): string | undefined {
  return typeof request.headers.host === 'string' ? request.headers.host : undefined;
}

export class InvalidHostHeaderError extends InvalidInputError {
  constructor(value: string | undefined) {
    super(
      'invalid_host_header',
      `${value === undefined ? 'the request has no Host header' : `the Host header ${JSON.stringify(value.slice(0, 100))} is not a host name or address with an optional port`}: ` +
        'the control plane writes it into URLs for devices and registries; behind a proxy that does not pass the host its clients reached, ' +
        'set FLOTILLA_PUBLIC_API_URL (and FLOTILLA_PUBLIC_MQTT_URL)',
    );
  }
}

/**
 * The `Host` header as a URL authority, for the URLs the control plane writes when no public URL
 * is configured (provisioning files, registry token realms). Node passes any printable value, so
 * a path (`a.example/x`), user info (`good@evil.example`), a fragment or a space would otherwise
 * become part of a URL a device or a registry later follows; those are refused, not repaired.
 */
export function requestAuthority(header: string | undefined): RequestAuthority {
  if (header === undefined) throw new InvalidHostHeaderError(header);
  const value = header.toLowerCase();
  const match = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(value);
  const hostname = match?.[1] ?? '';
  const port = match?.[2];
  const validHost = hostname.startsWith('[')
    ? isIPv6(hostname.slice(1, -1))
    : hostname.length > 0 && hostname.length <= MAX_NAME_LENGTH && NAME.test(hostname);
  if (!validHost || (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535))) throw new InvalidHostHeaderError(header);
  return { host: port === undefined ? hostname : `${hostname}:${Number(port)}`, hostname };
}
