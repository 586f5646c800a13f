import { createIdempotently, idempotencyKey, IdempotencyKeyReusedError, requestDigest, type KeyedResource } from './idempotency';

const uniqueViolation = Object.assign(new Error('duplicate key'), { driverError: { code: '23505' } });

function request(found: (KeyedResource | undefined)[], create: () => Promise<string>) {
  return {
    key: 'k-1' as string | undefined,
    digest: requestDigest('body'),
    kind: 'release',
    findByKey: async () => found.shift(),
    replay: async (id: string) => `replayed ${id}`,
    create,
  };
}

describe('createIdempotently', () => {
  it('creates without a key, and with a key nobody used yet', async () => {
    await expect(createIdempotently({ ...request([], async () => 'created'), key: undefined })).resolves.toBe('created');
    await expect(createIdempotently(request([undefined], async () => 'created'))).resolves.toBe('created');
  });

  it('replays the same request and refuses the key for another', async () => {
    const create = async () => 'created';
    await expect(createIdempotently(request([{ id: 'r1', requestDigest: requestDigest('body') }], create))).resolves.toBe('replayed r1');
    const other = createIdempotently(request([{ id: 'r1', requestDigest: requestDigest('other') }], create));
    await expect(other).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await expect(other).rejects.toMatchObject({ code: 'idempotency_key_reused', kind: 'conflict' });
  });

  it('answers the loser of a race on the key with the winner, and rethrows other failures', async () => {
    const lost = request([undefined, { id: 'r2', requestDigest: requestDigest('body') }], () => Promise.reject(uniqueViolation));
    await expect(createIdempotently(lost)).resolves.toBe('replayed r2');
    const failed = request([undefined, undefined], () => Promise.reject(uniqueViolation));
    await expect(createIdempotently(failed)).rejects.toBe(uniqueViolation);
    const broken = new Error('disk full');
    await expect(createIdempotently(request([undefined], () => Promise.reject(broken)))).rejects.toBe(broken);
  });

  it('answers the winner too when the loser failed on a rule the winner broke first (its devices now in a rollout)', async () => {
    const conflict = new Error('devices already in a rollout in motion');
    const lost = request([undefined, { id: 'r3', requestDigest: requestDigest('body') }], () => Promise.reject(conflict));
    await expect(createIdempotently(lost)).resolves.toBe('replayed r3');
    const taken = request([undefined, { id: 'r4', requestDigest: requestDigest('other') }], () => Promise.reject(conflict));
    await expect(createIdempotently(taken)).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });
});

describe('idempotencyKey', () => {
  it('accepts 1-128 of [A-Za-z0-9_.:-] and refuses anything else as invalid input', () => {
    expect(idempotencyKey(undefined)).toBeUndefined();
    expect(idempotencyKey('ci:build-41.2_a')).toBe('ci:build-41.2_a');
    expect(() => idempotencyKey('')).toThrow('Idempotency-Key must be');
    expect(() => idempotencyKey('a b')).toThrow('Idempotency-Key must be');
    expect(() => idempotencyKey('x'.repeat(129))).toThrow('Idempotency-Key must be');
  });
});
