import { join } from 'node:path';
import { EndorsedReleaseKey, type ReleaseKey } from '@flotilla/shared/device';
import { z } from 'zod';
import { readFileIfExists, writeFileAtomic } from '../state/atomic-file';
import { AgentError, errorMessage } from '../support/errors';
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

/** `release-keys.json` cannot be read or parsed: its revocations are unknown, so no desired state is taken. */
export class ReleaseKeysCorruptError extends AgentError {
  readonly code = 'release-keys-corrupt';
}

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
 * endorsement chain from a pinned key, never by being written to the file. The file also holds
 * the revoked and retired keys, so a damaged one fails closed (like the desired watermark): the
 * store trusts no key and refuses to preview, accept or learn until a technician repairs it, and
 * it never writes over it.
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
    private readonly damaged?: ReleaseKeysCorruptError,
  ) {}

  static async open(options: { stateDir: string; pinned: readonly ReleaseKey[]; logger: Logger }): Promise<TrustedKeyStore> {
    const path = join(options.stateDir, LEARNED_KEYS_FILE);
    let stored: Stored;
    try {
      stored = await readLearned(path);
    } catch (err) {
      if (!(err instanceof ReleaseKeysCorruptError)) throw err;
      options.logger.error('release keys file damaged: every desired state is refused until it is repaired', { path, error: err.message });
      return new TrustedKeyStore(path, options.pinned, [], new Set(), new Set(), options.logger, err);
    }
    const revoked = new Set(stored.revoked);
    // Re-proven from the pinned keys, revoked ones included: a key learned before its endorser was
    // revoked was earned then; the revoked keys themselves are left out of what is trusted (`keys`).
    const { added, refused } = learnEndorsedKeys(options.pinned, withoutRevoked(stored.keys, revoked));
    for (const r of refused) options.logger.warn('stored release key no longer trusted', { keyId: r.keyId, reason: r.reason });
    if (added.length > 0) options.logger.info('release keys', { pinned: options.pinned.length, learned: added.map((k) => k.keyId) });
    if (revoked.size > 0) options.logger.info('revoked release keys', { revoked: [...revoked] });
    return new TrustedKeyStore(path, options.pinned, added, revoked, new Set(stored.retired), options.logger);
  }

  /** Pinned and learned keys, less the revoked and the retired ones; none while the file is damaged. */
  keys(): ReleaseKey[] {
    if (this.damaged) return [];
    const pinned = this.pinned.filter((k) => !this.retired.has(k.keyId));
    return withoutRevoked([...pinned, ...this.learned], this.revoked).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey }));
  }

  preview(offered: readonly EndorsedReleaseKey[]): { trusted: ReleaseKey[]; added: EndorsedReleaseKey[]; revoked: ReadonlySet<string> } {
    if (this.damaged) throw this.damaged;
    const { trusted, added } = learnEndorsedKeys(this.keys(), withoutRevoked(offered, this.revoked));
    return { trusted, added, revoked: this.revoked };
  }

  async accept(
    added: readonly EndorsedReleaseKey[],
    revoked: readonly string[],
    vouched: ReadonlySet<string>,
  ): Promise<{ added: EndorsedReleaseKey[]; revoked: string[] }> {
    if (this.damaged) throw this.damaged;
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
    if (this.damaged) throw this.damaged;
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

/**
 * The stored keys, none when there is no file. A file that cannot be read or parsed throws: it
 * may have held revocations, and starting from the pinned keys would trust a revoked one again.
 */
async function readLearned(path: string): Promise<Stored> {
  let text: string | undefined;
  try {
    text = await readFileIfExists(path);
  } catch (err) {
    throw damagedFile(path, `cannot be read (${errorMessage(err)})`);
  }
  if (text === undefined) return { keys: [], revoked: [], retired: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw damagedFile(path, `is not JSON (${errorMessage(err)})`);
  }
  const parsed = LearnedKeysFile.safeParse(json);
  if (!parsed.success) throw damagedFile(path, `is not a release keys file (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

function damagedFile(path: string, what: string): ReleaseKeysCorruptError {
  return new ReleaseKeysCorruptError(
    `${path} ${what}; it holds the revoked release keys, so no desired state is taken until it is repaired: ` +
      'restore it from a copy, or delete it if the control plane never revoked a release key of this device ' +
      '(deleting it trusts every pinned key again)',
    { terminal: true },
  );
}

function withoutRevoked<K extends ReleaseKey>(keys: readonly K[], revoked: ReadonlySet<string>): K[] {
  return keys.filter((k) => !revoked.has(k.keyId));
}
