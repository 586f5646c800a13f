import { join } from 'node:path';
import { EndorsedReleaseKey, type ReleaseKey } from '@flotilla/shared/device';
import { z } from 'zod';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { errorMessage } from '../support/errors';
import type { Logger } from '../support/logger';
import { learnEndorsedKeys, type KeyRefusal } from './trusted-keys';

/** Keys learned from rotation endorsements, beside `credential.json`. */
export const LEARNED_KEYS_FILE = 'release-keys.json';

const LearnedKeysFile = z.object({
  schema: z.literal(1),
  keys: z.array(EndorsedReleaseKey),
  /** Key ids the control plane revoked (a signed desired said so): never trusted again, pinned or not. */
  revoked: z.array(z.string()).default([]),
  /** Pinned keys the control plane no longer vouches for (past its horizon): not trusted any more. */
  retired: z.array(z.string()).default([]),
});
type Stored = Omit<z.infer<typeof LearnedKeysFile>, 'schema'>;

export interface KeyLearning {
  /** The keys VERIFY trusts now. */
  trusted: readonly ReleaseKey[];
  /** Keys trusted from now on, each with the endorsement that earned it. */
  added: readonly EndorsedReleaseKey[];
  /** Refusals not reported before by this process (a refused key comes back with every `desired`). */
  refused: readonly KeyRefusal[];
}

/** What the updater asks before VERIFY: the trusted keys, grown by the endorsements a desired state carries. */
export interface ReleaseKeySource {
  learn(offered: readonly EndorsedReleaseKey[]): Promise<KeyLearning>;
}

/** What the desired gate asks: trust as it would be, then trust as a verified desired changes it. */
export interface DesiredTrust {
  /** The keys trusted if `offered` were taken, and the revoked ids; changes nothing. */
  preview(offered: readonly EndorsedReleaseKey[]): { trusted: ReleaseKey[]; added: EndorsedReleaseKey[]; revoked: ReadonlySet<string> };
  /**
   * Keeps what a verified desired taught: the keys its endorsements earned, its revocations, and
   * which keys the control plane still vouches for (`vouched`: the signer, the keys of its chain
   * and their endorsers); any other key is dropped, so trust stays as bounded as the chain.
   */
  accept(
    added: readonly EndorsedReleaseKey[],
    revoked: readonly string[],
    vouched: ReadonlySet<string>,
  ): Promise<{ added: EndorsedReleaseKey[]; revoked: string[] }>;
}

/**
 * The device's trusted release keys: pinned at provisioning (`credential.releaseKeys`) plus the
 * rotated keys learned since, kept in `release-keys.json` (atomic write). The file holds the
 * endorsements, not bare keys, and is checked again on load: a key gets in only through an
 * endorsement chain from a pinned key, never by being written to the file.
 */
export class TrustedKeyStore implements ReleaseKeySource, DesiredTrust {
  private readonly reported = new Set<string>();
  private dirty = false;

  private constructor(
    private readonly path: string,
    private readonly pinned: readonly ReleaseKey[],
    private learned: EndorsedReleaseKey[],
    private readonly revoked: Set<string>,
    private readonly retired: Set<string>,
    private readonly logger: Logger,
  ) {}

  static async open(options: { stateDir: string; pinned: readonly ReleaseKey[]; logger: Logger }): Promise<TrustedKeyStore> {
    const path = join(options.stateDir, LEARNED_KEYS_FILE);
    const stored = await readLearned(path, options.logger);
    const revoked = new Set(stored.revoked);
    // Re-proven from the pinned keys, revoked ones included: a key learned before its endorser was
    // revoked was earned then; the revoked keys themselves are left out of what is trusted (`keys`).
    const { added, refused } = learnEndorsedKeys(options.pinned, withoutRevoked(stored.keys, revoked));
    for (const r of refused) options.logger.warn('stored release key no longer trusted', { keyId: r.keyId, reason: r.reason });
    if (added.length > 0) options.logger.info('release keys', { pinned: options.pinned.length, learned: added.map((k) => k.keyId) });
    if (revoked.size > 0) options.logger.info('revoked release keys', { revoked: [...revoked] });
    return new TrustedKeyStore(path, options.pinned, added, revoked, new Set(stored.retired), options.logger);
  }

  /** Pinned and learned keys, less the revoked and the retired ones. */
  keys(): ReleaseKey[] {
    const pinned = this.pinned.filter((k) => !this.retired.has(k.keyId));
    return withoutRevoked([...pinned, ...this.learned], this.revoked).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  }

  preview(offered: readonly EndorsedReleaseKey[]): { trusted: ReleaseKey[]; added: EndorsedReleaseKey[]; revoked: ReadonlySet<string> } {
    const { trusted, added } = learnEndorsedKeys(this.keys(), withoutRevoked(offered, this.revoked));
    return { trusted, added, revoked: this.revoked };
  }

  async accept(
    added: readonly EndorsedReleaseKey[],
    revoked: readonly string[],
    vouched: ReadonlySet<string>,
  ): Promise<{ added: EndorsedReleaseKey[]; revoked: string[] }> {
    const newlyRevoked = [...new Set(revoked)].filter((id) => !this.revoked.has(id));
    newlyRevoked.forEach((id) => this.revoked.add(id));
    const known = new Set(this.keys().map((k) => k.keyId));
    const newlyAdded = added.filter((k) => !known.has(k.keyId) && !this.revoked.has(k.keyId));
    const learned = withoutRevoked([...this.learned, ...newlyAdded], this.revoked).filter((k) => vouched.has(k.keyId));
    const retiring = this.pinned.filter((k) => !vouched.has(k.keyId) && !this.retired.has(k.keyId));
    retiring.forEach((k) => this.retired.add(k.keyId));
    if (newlyRevoked.length > 0 || retiring.length > 0 || learned.length !== this.learned.length || newlyAdded.length > 0)
      this.dirty = true;
    this.learned = learned;
    if (this.dirty) await this.persist();
    return { added: newlyAdded, revoked: newlyRevoked };
  }

  /**
   * Adds the offered keys that endorsements earn and writes the grown set before answering. A
   * failed write is logged and tried again at the next call; the keys are trusted meanwhile,
   * since the chain that earned them comes again with every `desired`.
   */
  async learn(offered: readonly EndorsedReleaseKey[]): Promise<KeyLearning> {
    const result = learnEndorsedKeys(this.keys(), withoutRevoked(offered, this.revoked));
    if (result.added.length > 0) {
      this.learned = [...this.learned, ...result.added];
      this.dirty = true;
    }
    if (this.dirty) await this.persist();
    const refused = result.refused.filter((r) => {
      const seen = this.reported.has(`${r.keyId} ${r.reason}`);
      this.reported.add(`${r.keyId} ${r.reason}`);
      return !seen;
    });
    return { trusted: result.trusted, added: result.added, refused };
  }

  private async persist(): Promise<void> {
    try {
      const file = { schema: 1, keys: this.learned, revoked: [...this.revoked], retired: [...this.retired] };
      await writeFileAtomic(this.path, JSON.stringify(file, null, 2) + '\n', 0o600);
      this.dirty = false;
    } catch (err) {
      this.logger.error('cannot store the learned release keys', { path: this.path, error: errorMessage(err) });
    }
  }
}

/** An unreadable file costs only what it held: the keys come back with the next `desired`. */
async function readLearned(path: string, logger: Logger): Promise<Stored> {
  const none: Stored = { keys: [], revoked: [], retired: [] };
  let text: string | undefined;
  try {
    text = await readFileIfExists(path);
  } catch (err) {
    logger.warn('cannot read the learned release keys; starting from the pinned ones', { path, error: errorMessage(err) });
    return none;
  }
  if (text === undefined) return none;
  try {
    const parsed = LearnedKeysFile.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    logger.warn('learned release keys file is not valid; starting from the pinned ones', { path, error: parsed.error.message });
  } catch (err) {
    logger.warn('learned release keys file is not JSON; starting from the pinned ones', { path, error: errorMessage(err) });
  }
  return none;
}

function withoutRevoked<K extends ReleaseKey>(keys: readonly K[], revoked: ReadonlySet<string>): K[] {
  return keys.filter((k) => !revoked.has(k.keyId));
}
