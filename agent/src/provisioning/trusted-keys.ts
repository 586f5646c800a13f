import { createPublicKey } from 'node:crypto';
import { releaseKeyId, verifyKeyEndorsement, type EndorsedReleaseKey, type ReleaseKey } from '@flotilla/shared/device';

/**
 * Which release-signing keys the device trusts: the keys pinned at provisioning, plus each
 * rotated key whose endorsement verifies with a key already trusted. Trust only ever grows
 * along the chain from a pinned key; a key offered with anything less is refused, with the
 * reason. Pure (signature checks only), so the whole policy is tested without files.
 */

export interface KeyRefusal {
  keyId: string;
  reason: string;
}

export interface LearnedKeys {
  /** Every key trusted now: `trusted` as given, then the keys added, in the order they were. */
  trusted: ReleaseKey[];
  added: EndorsedReleaseKey[];
  refused: KeyRefusal[];
}

export function learnEndorsedKeys(trusted: readonly ReleaseKey[], offered: readonly EndorsedReleaseKey[]): LearnedKeys {
  const keys = [...trusted];
  const added: EndorsedReleaseKey[] = [];
  const refused: KeyRefusal[] = [];
  let pending: EndorsedReleaseKey[] = [];
  const checked = new Map<string, string | undefined>();
  for (const key of offered) {
    const known = keys.find((k) => k.keyId === key.keyId);
    if (known) {
      if (known.publicKey.trim() !== key.publicKey.trim()) {
        refused.push({
          keyId: key.keyId,
          reason: `key ${key.keyId} is offered with a public key other than the one this device trusts under that id`,
        });
      }
      continue;
    }
    // A checkpoint chain offers one key many times: its id is checked once.
    const pair = `${key.keyId}\n${key.publicKey}`;
    if (!checked.has(pair)) checked.set(pair, keyIdMismatch(key));
    const mismatch = checked.get(pair);
    if (mismatch) refused.push({ keyId: key.keyId, reason: mismatch });
    // One key may come several times, endorsed by different keys (a pruned chain endorses the
    // current key by every key a device may still hold): each offer is tried.
    else if (!pending.some((p) => p.keyId === key.keyId && p.endorsement.keyId === key.endorsement.keyId)) pending.push(key);
  }
  // The chain comes oldest first, so one pass usually does; more passes make the order not matter.
  for (let progress = true; progress && pending.length > 0;) {
    progress = false;
    const waiting: EndorsedReleaseKey[] = [];
    for (const key of pending) {
      const signer = keys.find((k) => k.keyId === key.endorsement.keyId);
      if (keys.some((k) => k.keyId === key.keyId)) {
        continue; // earned through another endorser in this pass
      } else if (!signer) {
        waiting.push(key);
      } else if (verifyKeyEndorsement({ keyId: key.keyId, publicKey: key.publicKey }, key.endorsement, [signer])) {
        keys.push({ keyId: key.keyId, publicKey: key.publicKey });
        added.push(key);
        progress = true;
      } else {
        refused.push({ keyId: key.keyId, reason: `key ${key.keyId}: its endorsement by key ${signer.keyId} does not verify; ignored` });
      }
    }
    pending = waiting;
  }
  // One refusal per key, naming every endorser this device does not know; none for a key earned through another.
  const unearned = new Map<string, string[]>();
  for (const key of pending.filter((p) => !keys.some((k) => k.keyId === p.keyId))) {
    unearned.set(key.keyId, [...(unearned.get(key.keyId) ?? []), key.endorsement.keyId]);
  }
  for (const [keyId, endorsers] of unearned) {
    refused.push({
      keyId,
      reason: `key ${keyId} is endorsed by key ${endorsers.join(', ')}, which this device does not trust (trusted: ${keys.map((k) => k.keyId).join(', ')}); ignored`,
    });
  }
  return { trusted: keys, added, refused };
}

/** A key whose id is not its own public key's id could stand in for another key: refused. */
function keyIdMismatch(key: ReleaseKey): string | undefined {
  let actual: string;
  try {
    const publicKey = createPublicKey(key.publicKey);
    if (publicKey.asymmetricKeyType !== 'ed25519') return `key ${key.keyId} is not an ed25519 key; ignored`;
    actual = releaseKeyId(publicKey);
  } catch (e) {
    return `key ${key.keyId} is not a readable public key (${(e as Error).message}); ignored`;
  }
  return actual === key.keyId ? undefined : `key ${key.keyId} is offered with the public key of ${actual}; ignored`;
}

/**
 * The keys a verified desired state vouches for: its signer, and the keys and endorsers of its
 * chain. A device keeps trusting only these, so its trust is as bounded as the control plane's
 * chain (the keys within its horizon) however often keys rotate.
 */
export function vouchedKeyIds(signerKeyId: string, chain: readonly EndorsedReleaseKey[]): Set<string> {
  return new Set([signerKeyId, ...chain.map((k) => k.keyId), ...chain.map((k) => k.endorsement.keyId)]);
}
