import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { contentDigest, decodePayload, encodePayload, minimalComponent, type AssemblySpec, type Release } from '@flotilla/shared';
import { openDesired } from '../testing/desired';
import { Keyring } from './keyring';
import { SigningService } from './signing.service';
import { KeyStore } from './key-store';
import type { DesiredContent, SealedDesired } from './desired-sealer';
import { DesiredTooLargeError } from './signing.errors';

/** Unit: the fan-out sealer's messages, read and verified as a device does. */
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

const sealedOf = (result: SealedDesired | DesiredTooLargeError | undefined): SealedDesired => {
  if (!result || result instanceof DesiredTooLargeError) throw result ?? new Error('nothing sealed');
  return result;
};

describe('DesiredSealer (unit)', () => {
  it.each([0, 3])('seals each device its own statement under one signature, as the one-by-one seal reads (%i rotations)', (rotations) => {
    const signing = service(rotations);
    const sealer = signing.desiredSealer();
    const devices = [
      ['dev_a', 4, release],
      ['dev_b', 9, release],
      ['dev_c', 1, null],
    ] as const;
    const sealed = sealer.sealAll(devices.map(([id, rev, r]) => content(id, rev, r))).map(sealedOf);
    expect(new Set(sealed.map((s) => s.envelope.signature.value)).size).toBe(1);
    devices.forEach(([id, rev, r], i) => {
      const { envelope, bytes } = sealed[i]!;
      const statement = openDesired(bytes, signing.releaseKeys());
      const reference = openDesired(signing.sealDesired(content(id, rev, r)), signing.releaseKeys());
      expect({ ...statement, issuedAt: 0, expiresAt: 0 }).toEqual({ ...reference, issuedAt: 0, expiresAt: 0 });
      // The bytes are the envelope, exactly as the protocol encodes it.
      const decoded = decodePayload('desired', bytes);
      expect(decoded.ok && decoded.value).toEqual(envelope);
      expect(JSON.parse(bytes.toString())).toEqual(JSON.parse(encodePayload('desired', envelope)));
    });
    // The devices of one release share the body's bytes; the statement is each one's own.
    expect(sealed[0]!.envelope.body).toBe(sealed[1]!.envelope.body);
    expect(sealed[0]!.envelope.statement).not.toBe(sealed[1]!.envelope.statement);
  });

  it('verifies every message of a large batch (odd sizes: nodes without a sibling move up)', () => {
    const signing = service(1);
    for (const n of [1, 2, 5, 64, 77]) {
      const sealed = signing
        .desiredSealer()
        .sealAll(Array.from({ length: n }, (_, i) => content(`dev_${i}`, i + 1, release)))
        .map(sealedOf);
      sealed.forEach(({ bytes }, i) =>
        expect(openDesired(bytes, signing.releaseKeys())).toMatchObject({ deviceId: `dev_${i}`, rev: i + 1 }),
      );
    }
  });

  it('leaves a device over the message limit out with an error naming it and the sizes; the others are sealed', () => {
    const big = { ...release, assembly: { ...spec, name: 'x'.repeat(300 * 1024) } };
    const signing = service(0);
    const [tooBig, fine] = signing.desiredSealer().sealAll([content('dev_a', 1, big), content('dev_b', 1, release)]);
    expect(tooBig).toBeInstanceOf(DesiredTooLargeError);
    expect((tooBig as Error).message).toMatch(/dev_a is \d+ bytes, over the 262144-byte/);
    expect(openDesired(sealedOf(fine).bytes, signing.releaseKeys())).toMatchObject({ deviceId: 'dev_b' });
    expect(() => signing.sealDesired(content('dev_a', 1, big))).toThrow(DesiredTooLargeError);
  });
});
