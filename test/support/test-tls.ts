import { createCertificateAuthority, importIssuer, issueServerCertificate } from '../../control-plane/src/tls/x509';

export interface TestTls {
  /** The CA a device pins (its provisioning file's caCertificates). */
  caPem: string;
  /** A server certificate for 127.0.0.1 and localhost, signed by that CA. */
  server: { keyPem: string; certPem: string };
  /** A server certificate for the same names from another CA: what a device must refuse. */
  stranger: { keyPem: string; certPem: string };
}

/** Real certificates made for one test run (ECDSA P-256, the control plane's own code). */
export async function makeTestTls(): Promise<TestTls> {
  const names = [
    { type: 'ip' as const, value: '127.0.0.1' },
    { type: 'dns' as const, value: 'localhost' },
  ];
  const ca = await createCertificateAuthority('flotilla test CA', 1);
  const other = await createCertificateAuthority('some other CA', 1);
  return {
    caPem: ca.certPem,
    server: await issueServerCertificate(await importIssuer(ca), names, 1),
    stranger: await issueServerCertificate(await importIssuer(other), names, 1),
  };
}
