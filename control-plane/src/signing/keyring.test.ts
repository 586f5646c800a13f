import { generateKeyPairSync } from 'node:crypto';
import { contentDigest, verifyKeyEndorsement, verifyRelease, type AssemblySpec } from '@flotilla/shared';
import { Keyring } from './keyring';

const assembly: AssemblySpec = { name: 'a', version: '1.0.0', probationMs: 0, components: [], volumes: [], networks: ['default'] };
const release = { id: '6f1c1d1e-2f4a-4a8e-9a51-0f5d7b8c9d10', digest: contentDigest(assembly), assembly };
const key = (ms: number) => ({ privateKey: generateKeyPairSync('ed25519').privateKey, createdAt: new Date(ms) });

describe('Keyring', () => {
  it('signs with the newest key and lists every public key, oldest first', () => {
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
    ring.add(key(2));
    const views = ring.views();
    expect(views.map((v) => v.current)).toEqual([false, true]);
    expect(views[0]!.endorsement).toBeNull();
    expect(views[1]!.endorsement!.keyId).toBe(old!.keyId);
    expect(verifyKeyEndorsement(views[1]!, views[1]!.endorsement!, [old!])).toBe(true);
    // An endorsement does not carry over to another key.
    expect(verifyKeyEndorsement(views[0]!, views[1]!.endorsement!, [old!])).toBe(false);
    expect(ring.sign(release).keyId).toBe(views[1]!.keyId);
  });

  it('hands out the rotation chain for devices: empty before a rotation, then each key endorsed by its predecessor', () => {
    const ring = new Keyring([key(1)]);
    expect(ring.endorsedKeys()).toEqual([]);
    ring.add(key(2));
    ring.add(key(3));
    const [k1, k2, k3] = ring.releaseKeys();
    const chain = ring.endorsedKeys();
    expect(chain.map((k) => [k.keyId, k.endorsement.keyId])).toEqual([
      [k2!.keyId, k1!.keyId],
      [k3!.keyId, k2!.keyId],
    ]);
    expect(verifyKeyEndorsement(chain[0]!, chain[0]!.endorsement, [k1!])).toBe(true);
    expect(verifyKeyEndorsement(chain[1]!, chain[1]!.endorsement, [k2!])).toBe(true);
    expect(ring.views().map((v) => v.endorsement)).toEqual([null, chain[0]!.endorsement, chain[1]!.endorsement]);
  });

  it('needs a key', () => {
    expect(() => new Keyring([])).toThrow(/at least one key/);
  });
});
