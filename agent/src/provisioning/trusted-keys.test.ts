import { endorseKey as endorse, testSigner } from '../testing/releases';
import { learnEndorsedKeys, vouchedKeyIds } from './trusted-keys';

const [k1, k2, k3, stranger] = [testSigner(), testSigner(), testSigner(), testSigner()];
const chain = [endorse(k2.key, k1), endorse(k3.key, k2)];

describe('learnEndorsedKeys', () => {
  it('follows the chain from a pinned key: k1 endorses k2, k2 endorses k3', () => {
    const learned = learnEndorsedKeys([k1.key], chain);
    expect(learned.trusted).toEqual([k1.key, k2.key, k3.key]);
    expect(learned.added.map((k) => k.keyId)).toEqual([k2.key.keyId, k3.key.keyId]);
    expect(learned.refused).toEqual([]);
  });

  it('does not depend on the order the links come in', () => {
    expect(learnEndorsedKeys([k1.key], [...chain].reverse()).trusted).toEqual([k1.key, k2.key, k3.key]);
  });

  it('adds nothing and refuses nothing when every key is trusted already', () => {
    expect(learnEndorsedKeys([k1.key, k2.key, k3.key], chain)).toEqual({ trusted: [k1.key, k2.key, k3.key], added: [], refused: [] });
    expect(learnEndorsedKeys([k1.key], [])).toEqual({ trusted: [k1.key], added: [], refused: [] });
  });

  it('refuses a key endorsed by a key the device does not trust', () => {
    const learned = learnEndorsedKeys([k1.key], [endorse(k3.key, stranger)]);
    expect(learned.trusted).toEqual([k1.key]);
    expect(learned.refused).toEqual([
      { keyId: k3.key.keyId, reason: expect.stringContaining(`endorsed by key ${stranger.key.keyId}, which this device does not trust`) },
    ]);
  });

  it('refuses an endorsement that does not verify: forged, or over another key', () => {
    const forged = { ...endorse(k2.key, k1), endorsement: { keyId: k1.key.keyId, value: endorse(k2.key, stranger).endorsement.value } };
    const swapped = { ...endorse(k3.key, k1), endorsement: endorse(k2.key, k1).endorsement };
    const learned = learnEndorsedKeys([k1.key], [forged, swapped]);
    expect(learned.trusted).toEqual([k1.key]);
    expect(learned.refused.map((r) => r.reason)).toEqual([
      expect.stringContaining(`its endorsement by key ${k1.key.keyId} does not verify`),
      expect.stringContaining(`its endorsement by key ${k1.key.keyId} does not verify`),
    ]);
  });

  it('refuses a key whose id is not its own, and a key id already trusted offered with another public key', () => {
    const impostor = endorse({ keyId: k2.key.keyId, publicKey: stranger.key.publicKey }, k1);
    expect(learnEndorsedKeys([k1.key], [impostor]).refused).toEqual([
      { keyId: k2.key.keyId, reason: expect.stringContaining(`offered with the public key of ${stranger.key.keyId}`) },
    ]);
    const replaced = endorse({ keyId: k1.key.keyId, publicKey: stranger.key.publicKey }, k1);
    expect(learnEndorsedKeys([k1.key], [replaced])).toMatchObject({ trusted: [k1.key], refused: [{ keyId: k1.key.keyId }] });
    const garbage = endorse(
      { keyId: 'ed25519:0000000000000000', publicKey: '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n' },
      k1,
    );
    expect(learnEndorsedKeys([k1.key], [garbage]).refused[0]!.reason).toContain('not a readable public key');
  });

  it('a refused link breaks the chain after it: k3 needs k2', () => {
    const learned = learnEndorsedKeys([k1.key], [endorse(k2.key, stranger), endorse(k3.key, k2)]);
    expect(learned.trusted).toEqual([k1.key]);
    expect(learned.refused.map((r) => r.keyId)).toEqual([k2.key.keyId, k3.key.keyId]);
  });

  it('learns from a checkpoint: the current key endorsed by several keys, one of which the device holds', () => {
    const checkpoint = [endorse(k3.key, stranger), endorse(k3.key, k2), endorse(k3.key, k1)];
    const learned = learnEndorsedKeys([k2.key], checkpoint);
    expect(learned.trusted).toEqual([k2.key, k3.key]);
    expect(learned.added.map((k) => k.endorsement.keyId)).toEqual([k2.key.keyId]);
    expect(learned.refused).toEqual([]);
    // The same public key under another id is still refused, however often it comes.
    const renamed = { ...endorse(k3.key, k2), keyId: k1.key.keyId };
    expect(learnEndorsedKeys([k2.key], [endorse(k3.key, k2), renamed]).refused.map((r) => r.keyId)).toEqual([k1.key.keyId]);
  });

  it('one refusal names every endorser the device does not know', () => {
    const learned = learnEndorsedKeys([k1.key], [endorse(k3.key, stranger), endorse(k3.key, k2)]);
    expect(learned.refused).toHaveLength(1);
    expect(learned.refused[0]!.reason).toContain(`endorsed by key ${stranger.key.keyId}, ${k2.key.keyId}`);
  });
});

describe('vouchedKeyIds', () => {
  it('is the signer, the chain keys and their endorsers', () => {
    expect(vouchedKeyIds(k3.key.keyId, [endorse(k3.key, k1), endorse(k3.key, k2)])).toEqual(
      new Set([k3.key.keyId, k1.key.keyId, k2.key.keyId]),
    );
  });
});
