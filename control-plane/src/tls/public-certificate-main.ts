import { resolve } from 'node:path';
import { loadOrCreatePublicCertificate, publicNames } from './public-certificate';

/**
 * `node control-plane/dist/tls/public-certificate-main.js`: prepares `<FLOTILLA_DATA_DIR>/tls`
 * for the external broker mode before any node or replica starts (deploy/ha runs it as `tls-init`):
 * the CAs and the public server certificate the RabbitMQ nodes serve to devices.
 */
async function main(): Promise<void> {
  const dataDir = resolve(process.env.FLOTILLA_DATA_DIR?.trim() || './data');
  const names = publicNames(process.env);
  const files = await loadOrCreatePublicCertificate(dataDir, names);
  console.log(
    [
      `public certificate: ${files.certFile} (${files.created.length > 0 ? `created ${files.created.join(', ')}` : 'unchanged'})`,
      `  names: ${names.map((n) => n.value).join(', ')}`,
      `  SHA-256: ${files.fingerprint}`,
      `  key: ${files.keyFile}; issued by ${files.caFile} (devices pin it); device CA: ${files.deviceCaFile}`,
    ].join('\n'),
  );
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
