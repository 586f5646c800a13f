import { generateKeyPairSync } from 'node:crypto';
import { contentDigest } from '../assembly/canonical';
import type { AssemblySpec } from '../assembly/spec';
import { releaseKeyId, signRelease, verifyRelease, type ReleaseKey } from './signing';

const assembly: AssemblySpec = {
  name: 'demo',
  version: '1.0.0',
  probationMs: 30_000,
  volumes: [],
  networks: ['default'],
  components: [
    {
      name: 'web',
      image: 'web@sha256:' + 'a'.repeat(64),
      environment: { A: '1' },
      ports: [],
      mounts: [],
      restart: 'unless-stopped',
      dependsOn: {},
      labels: {},
      devices: [],
      capAdd: [],
      networks: ['default'],
      update: 'download-then-switch',
    },
  ],
};

function keyPair(): { privateKey: import('node:crypto').KeyObject; trusted: ReleaseKey } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    trusted: { keyId: releaseKeyId(publicKey), publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
  };
}

describe('release signatures', () => {
  const { privateKey, trusted } = keyPair();
  const unsigned = { id: '6f1c1d1e-2f4a-4a8e-9a51-0f5d7b8c9d10', digest: contentDigest(assembly), assembly };
  const release = { ...unsigned, signature: signRelease(unsigned, privateKey, trusted.keyId) };

  it('verifies with the pinned public key', () => {
    expect(verifyRelease(release, [trusted])).toEqual({ ok: true, keyId: trusted.keyId });
    expect(trusted.keyId).toMatch(/^ed25519:[0-9a-f]{16}$/);
  });

  it('refuses a modified release, whether or not its digest was updated', () => {
    const tampered = structuredClone(release);
    tampered.assembly.components[0]!.environment.A = '2';
    expect(verifyRelease(tampered, [trusted])).toMatchObject({ ok: false, reason: expect.stringMatching(/digest does not match/) });
    tampered.digest = contentDigest(tampered.assembly);
    expect(verifyRelease(tampered, [trusted])).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
  });

  it('refuses a release signed by a key the device does not trust', () => {
    const other = keyPair();
    const forged = { ...unsigned, signature: signRelease(unsigned, other.privateKey, trusted.keyId) };
    expect(verifyRelease(forged, [trusted])).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
    const unknown = { ...unsigned, signature: signRelease(unsigned, other.privateKey, other.trusted.keyId) };
    expect(verifyRelease(unknown, [trusted])).toMatchObject({ ok: false, reason: expect.stringMatching(/does not trust/) });
  });
});
