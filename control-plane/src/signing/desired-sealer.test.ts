import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { contentDigest, decodePayload, encodePayload, minimalComponent, type AssemblySpec, type Release } from '@flotilla/shared';
import { openDesired } from '../testing/desired';
import { Keyring } from './keyring';
import { SigningService } from './signing.service';
import { KeyStore } from './key-store';
import type { DesiredContent } from './desired-sealer';

/** Unit: the fan-out sealer's text against the one-by-one `sealDesired`. */
function service(rotations: number): SigningService {
  const keys = Array.from({ length: rotations + 1 }, (_, i) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return { name: String(i).padStart(13, '0'), privateKey, publicKey, createdAt: new Date(i) };
  });
  return new SigningService(new KeyStore('/nonexistent-for-tests'), new Keyring(keys));
}

const spec: AssemblySpec = {
  name: 'origin',
  version: '1.0.0',
  probationMs: 30_000,
  components: [
    minimalComponent('web', `registry.example.com/web@sha256:${'a'.repeat(64)}`, {
      environment: { MODE: 'quote " backslash \\ line\n é ☃ \u{1F600}' },
    }),
  ],
  volumes: [],
  networks: ['default'],
};
const unsigned = { id: randomUUID(), digest: contentDigest(spec), assembly: spec };
const release: Release = { ...unsigned, signature: service(0).sign(unsigned) } as Release;
const content = (deviceId: string, rev: number, r: Release | null): DesiredContent => ({
  deviceId,
  rev,
  release: r,
  releaseCreatedAt: r ? '2026-12-05T00:00:00.000Z' : null,
  rollback: false,
  config: { SITE: 'north "x"' },
});

describe('DesiredSealer (unit)', () => {
  it.each([0, 3])('seals each device its own statement, verifiable as the one-by-one seal (%i rotations)', (rotations) => {
    const signing = service(rotations);
    const sealer = signing.desiredSealer();
    for (const [id, rev, r] of [
      ['dev_a', 4, release],
      ['dev_b', 9, release],
      ['dev_c', 1, null],
    ] as const) {
      const { envelope, bytes } = sealer.seal(content(id, rev, r));
      const statement = openDesired(bytes, signing.releaseKeys());
      const reference = openDesired(signing.sealDesired(content(id, rev, r)), signing.releaseKeys());
      expect({ ...statement, issuedAt: 0, expiresAt: 0 }).toEqual({ ...reference, issuedAt: 0, expiresAt: 0 });
      // The bytes are the envelope, exactly as the protocol encodes it.
      const decoded = decodePayload('desired', bytes);
      expect(decoded.ok && decoded.value).toEqual(envelope);
      expect(JSON.parse(bytes.toString())).toEqual(JSON.parse(encodePayload('desired', envelope)));
    }
  });

  it('refuses a statement over the message limit with the device and sizes in the error', () => {
    const big = { ...release, assembly: { ...spec, name: 'x'.repeat(300 * 1024) } };
    expect(() =>
      service(0)
        .desiredSealer()
        .seal(content('dev_a', 1, big)),
    ).toThrow(/dev_a is \d+ bytes, over the 262144-byte/);
  });
});
