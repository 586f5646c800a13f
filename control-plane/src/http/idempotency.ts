import { createHash } from 'node:crypto';
import { ConflictError, InvalidInputError } from '../domain-error';

/**
 * `Idempotency-Key` on creating requests (rollouts, releases): a client that lost the answer
 * retries with the same key and gets what the first request created, never a second one. The
 * resource keeps the key (unique in its table) and a digest of the request that created it.
 */

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;

export const IDEMPOTENCY_KEY_DOC = {
  name: 'Idempotency-Key',
  description: '1-128 of [A-Za-z0-9_.:-]; the same key with the same body answers 200 with what the first request created',
};

/** The header's value, checked; undefined when the request carries none. */
export function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY.test(header)) {
    throw new InvalidInputError('invalid_idempotency_key', 'Idempotency-Key must be 1-128 of [A-Za-z0-9_.:-]', [
      { path: 'Idempotency-Key', message: 'invalid' },
    ]);
  }
  return header;
}

/** What identifies "the same request": the body as sent (text) or as parsed (JSON). */
export function requestDigest(body: unknown): string {
  return createHash('sha256')
    .update(typeof body === 'string' ? body : JSON.stringify(body))
    .digest('hex');
}

export class IdempotencyKeyReusedError extends ConflictError {
  constructor(key: string, created: string) {
    super(
      'idempotency_key_reused',
      `Idempotency-Key "${key}" already created ${created} from a different request; use a new key for a new request`,
    );
  }
}

export interface KeyedResource {
  id: string;
  /** Digest of the request that created it under its key. */
  requestDigest: string | null;
}

export interface IdempotentCreate<T> {
  key: string | undefined;
  digest: string;
  /** Names a resource in messages: `rollout 1234…`. */
  kind: string;
  /** The resource an earlier request created under `key`. */
  findByKey(key: string): Promise<KeyedResource | undefined>;
  /** The answer for a replayed request. */
  replay(id: string): Promise<T>;
  /** Creates the resource, storing `key` and `digest` with it (unique on the key). */
  create(): Promise<T>;
}

/**
 * Replays an earlier request with the same key and body, refuses the key for another body,
 * and otherwise creates. Two requests with one key at the same moment (on two replicas, say)
 * both pass the first look-up; the loser's create then fails, on the unique key or on a rule the
 * winner's resource now breaks (its devices are in a rollout already), and it answers with the
 * winner's resource. Only the key's unique index in PostgreSQL decides, so this holds across replicas.
 */
export async function createIdempotently<T>(request: IdempotentCreate<T>): Promise<T> {
  const { key } = request;
  if (key === undefined) return request.create();
  const earlier = await replayed(request, key);
  if (earlier) return earlier;
  try {
    return await request.create();
  } catch (e) {
    // A failed look-up must not hide why the create failed; a key another body took says more.
    const winner = await replayed(request, key).catch((lookup: unknown) => {
      if (lookup instanceof IdempotencyKeyReusedError) throw lookup;
      return undefined;
    });
    if (winner) return winner;
    throw e;
  }
}

async function replayed<T>(request: IdempotentCreate<T>, key: string): Promise<T | undefined> {
  const existing = await request.findByKey(key);
  if (!existing) return undefined;
  if (existing.requestDigest !== request.digest) throw new IdempotencyKeyReusedError(key, `${request.kind} ${existing.id}`);
  return request.replay(existing.id);
}
