import type { SecureContextOptions } from 'node:tls';

/**
 * TLS 1.2 at least; Node negotiates 1.3 whenever the peer speaks it (its default maximum).
 * 1.2 stays for older device TLS stacks.
 */
export const TLS_OPTIONS: Pick<SecureContextOptions, 'minVersion'> = { minVersion: 'TLSv1.2' };
