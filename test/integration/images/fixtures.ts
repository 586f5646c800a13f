import { createHash, generateKeyPairSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { releaseKeyId, type ProvisioningFile } from '@flotilla/shared';

/** Where the image tests keep Debian arm64 packages between runs (apt lists and .debs). */
export const TEST_APT_CACHE = `${process.env.FLOTILLA_TEST_STATE || '/tmp/flotilla-test'}/arm64-apt`;

/** A provisioning file as the control plane would hand out, with a fixed token so builds compare. */
export function testProvisioning(token = 'prov-token-0123456789abcdef'): ProvisioningFile {
  const { publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    schema: 1,
    apiUrl: 'http://127.0.0.1:3000',
    mqttUrl: 'mqtt://127.0.0.1:1883',
    token,
    board: 'qemu-arm64-virt',
    releaseKeys: [{ keyId: releaseKeyId(pem), publicKey: pem }],
  };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(4 * 1024 * 1024);
    for (let pos = 0; ;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, pos);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
