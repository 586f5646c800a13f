import { generateKeyPairSync } from 'node:crypto';
import { contentDigest, verifyKeyEndorsement, verifyRelease, type AssemblySpec } from '@flotilla/shared';
import type { StoredKey } from './key-store';
import { Keyring } from './keyring';

/** Unit: the keyring's rules on in-memory keys (the files are key-store.int.test.ts). */
const assembly: AssemblySpec = { name: 'a', version: '1.0.0', probationMs: 0, components: [], volumes: [], networks: ['default'] };
const release = { id: '6f1c1d1e-2f4a-4a8e-9a51-0f5d7b8c9d10', digest: contentDigest(assembly), assembly };
const key = (ms: number): StoredKey => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name: String(ms).padStart(13, '0'), privateKey, publicKey, createdAt: new Date(ms) };
};
const revoked = (k: StoredKey): StoredKey => ({ name: k.name, publicKey: k.publicKey, createdAt: k.createdAt, revokedAt: new Date(99) });

describe('Keyring', () => {
  it('signs with the newest key and hands new devices every key within the horizon', () => {
    const ring = new Keyring([key(1), key(2)]);
    const [first, second] = ring.releaseKeys();
    const signature = ring.sign(release);
    expect(signature.keyId).toBe(second!.keyId);
    expect(ring.currentKeyId).toBe(second!.keyId);
    expect(verifyRelease({ ...release, signature }, [second!])).toMatchObject({ ok: true });
    expect(verifyRelease({ ...release, signature }, [first!])).toMatchObject({ ok: false });
  });

  it('after add(), the new key signs and is endorsed by the one before it', () => {
    const ring = new Keyring([key(1)]);
    const [old] = ring.releaseKeys();
    expect(ring.endorsedKeys()).toEqual([]);
    ring.add(key(2));
    const views = ring.views();
    expect(views.map((v) => [v.current, v.status])).toEqual([
      [false, 'trusted'],
      [true, 'current'],
    ]);
    expect(views[0]!.endorsement).toBeNull();
    expect(views[1]!.endorsement!.keyId).toBe(old!.keyId);
    expect(verifyKeyEndorsement(views[1]!, views[1]!.endorsement!, [old!])).toBe(true);
    // An endorsement does not carry over to another key.
    expect(verifyKeyEndorsement(views[0]!, views[1]!.endorsement!, [old!])).toBe(false);
    expect(ring.sign(release).keyId).toBe(views[1]!.keyId);
  });

  it('hands out a checkpoint: the current key endorsed directly by each key within the horizon, older ones retired', () => {
    const ring = new Keyring([key(1), key(2), key(3), key(4)], 2);
    const [k1, k2, k3, k4] = ring.views();
    const chain = ring.endorsedKeys();
    expect(chain.map((k) => [k.keyId, k.endorsement.keyId])).toEqual([
      [k4!.keyId, k2!.keyId],
      [k4!.keyId, k3!.keyId],
    ]);
    expect(verifyKeyEndorsement(chain[0]!, chain[0]!.endorsement, [k2!])).toBe(true);
    expect(verifyKeyEndorsement(chain[1]!, chain[1]!.endorsement, [k3!])).toBe(true);
    expect(ring.releaseKeys().map((k) => k.keyId)).toEqual([k2!.keyId, k3!.keyId, k4!.keyId]);
    expect(ring.views().map((v) => v.status)).toEqual(['retired', 'trusted', 'trusted', 'current']);
    expect(k1!.keyId).not.toBe(k2!.keyId);
  });

  it('leaves a revoked key out of the chain and the pins, and names it to devices', () => {
    const keys = [key(1), key(2), key(3)];
    const ring = new Keyring(keys);
    const [k1, k2, k3] = ring.views();
    expect(() => ring.markRevoked(revoked(keys[2]!))).toThrow(/rotate before revoking the current key/);
    ring.markRevoked(revoked(keys[1]!));
    expect(ring.endorsedKeys().map((k) => k.endorsement.keyId)).toEqual([k1!.keyId]);
    expect(ring.releaseKeys().map((k) => k.keyId)).toEqual([k1!.keyId, k3!.keyId]);
    expect(ring.revokedKeyIds()).toEqual([k2!.keyId]);
    expect(ring.views().map((v) => [v.status, v.revokedAt])).toEqual([
      ['trusted', null],
      ['revoked', new Date(99).toISOString()],
      ['current', null],
    ]);
    // k3's endorsement by its predecessor is gone with k2's private key.
    expect(ring.views()[2]!.endorsement).toBeNull();
  });

  it('needs a key that can sign, and a horizon devices can carry', () => {
    expect(() => new Keyring([])).toThrow(/at least one key/);
    expect(() => new Keyring([revoked(key(1))])).toThrow(/at least one key/);
    expect(() => new Keyring([key(1)], 256)).toThrow(/horizon 256/);
  });
});
