/**
 * certificate-request.ts on first use (registration, a renewal every few months): its ASN.1
 * libraries are RSS an idle agent would keep for good (BENCHMARKS.md "agent"). A plain require,
 * not import(): the agent is CommonJS, and the bundle (esbuild) keeps a require in a function
 * lazy, running the module only when the function first does.
 */
export function loadCertificateRequest(): typeof import('./certificate-request') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- on demand, see above
  return require('./certificate-request') as typeof import('./certificate-request');
}
