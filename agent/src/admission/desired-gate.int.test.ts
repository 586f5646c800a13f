import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimalComponent, type Desired } from '@flotilla/shared';
import { LEARNED_KEYS_FILE, TrustedKeyStore } from '../provisioning/trusted-key-store';
import { systemClock } from '../support/clock';
import { silentLogger } from '../support/logger';
import { endorseKey, sealedBatch, sealedDesired, signedDesired, testSigner } from '../testing/releases';
import { DesiredGate } from './desired-gate';
import { WatermarkFile } from './watermark-file';

/**
 * Integration (the real key store and watermark file in a temporary directory): every kind of
 * refused `desired` leaves every file as it was, and a genuine newer one still gets through.
 */
const DEVICE = 'dev_gate_1';
const signer = testSigner();
let stateDir: string;
let gate: DesiredGate;
let keys: TrustedKeyStore;
let held = 0;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'flotilla-gate-'));
  keys = await TrustedKeyStore.open({ stateDir, pinned: [signer.key], logger: silentLogger });
  held = 0;
  gate = new DesiredGate({
    deviceId: DEVICE,
    trust: keys,
    watermark: new WatermarkFile(stateDir),
    clock: systemClock,
    heldRev: () => held,
  });
});

afterEach(() => rm(stateDir, { recursive: true, force: true }));

const desired = (rev: number, extra: Partial<Desired> = {}): Desired => ({
  ...signedDesired(signer, rev, [minimalComponent('web', 'registry.test/web:1')]),
  ...extra,
});

async function files(): Promise<Record<string, string>> {
  const names = (await readdir(stateDir)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(stateDir, n), 'utf8')] as const)));
}

async function take(bytes: string): Promise<number> {
  const outcome = await gate.admit(bytes);
  if (!outcome.ok) throw new Error(`${outcome.code}: ${outcome.reason}`);
  held = outcome.statement.rev;
  return held;
}

describe('DesiredGate', () => {
  it('refuses each forged, foreign, stale or replayed desired without changing any file', async () => {
    await take(sealedDesired(signer, DEVICE, desired(5)));
    const older = sealedDesired(signer, DEVICE, desired(4), { issuedAt: new Date(Date.now() - 60_000).toISOString() });
    const before = await files();
    const stranger = testSigner();
    // One fan-out batch: this device's message, and its neighbour's, under one signature.
    const [mine, neighbours] = sealedBatch(signer, [
      { deviceId: DEVICE, desired: desired(2 ** 53 - 1) },
      { deviceId: 'dev_other', desired: desired(9) },
    ]).map((m) => JSON.parse(m) as { statement: string; body: string; proof: string[]; signature: { value: string } });
    const sealed = mine!;
    expect(sealed.body).toContain('registry.test/web:1');
    const tamperedProof = `${sealed.proof[0]!.slice(0, 1)}${Buffer.alloc(32, 7).toString('base64')}`;
    const cases: [string, string][] = [
      ['unsigned', JSON.stringify(desired(2 ** 53 - 1))],
      ['unsigned', JSON.stringify({ schema: 1, rev: 9, release: null, config: {} })],
      ['unknown-key', sealedDesired(stranger, DEVICE, desired(9))],
      // A key the device would learn only through an endorsement by a key it does not trust.
      ['unknown-key', sealedDesired(stranger, DEVICE, desired(9, { keyEndorsements: [endorseKey(stranger.key, testSigner())] }))],
      // The statement, the body, the proof or the signature altered: the signed root is not reached.
      ['forged', JSON.stringify({ ...sealed, statement: sealed.statement.replace('"rev":9007199254740991', '"rev":9007199254740990') })],
      ['forged', JSON.stringify({ ...sealed, body: sealed.body.replace('registry.test/web:1', 'registry.test/evil:1') })],
      ['forged', JSON.stringify({ ...sealed, proof: [tamperedProof] })],
      ['forged', JSON.stringify({ ...sealed, proof: [] })],
      ['forged', JSON.stringify({ ...sealed, signature: { ...sealed.signature, value: `${'A'.repeat(86)}==` } })],
      // Another device's statement of the same batch verifies, and is still not for this device.
      ['wrong-device', JSON.stringify(neighbours)],
      ['wrong-device', sealedDesired(signer, 'dev_other', desired(9))],
      // This device's statement with another device's proof: it leads elsewhere than the signed root.
      ['forged', JSON.stringify({ ...sealed, proof: neighbours!.proof })],
      ['stale', sealedDesired(signer, DEVICE, desired(9), { expiresAt: new Date(Date.now() - 1_000).toISOString() })],
      ['replayed', older],
      ['replayed', sealedDesired(signer, DEVICE, desired(9), { issuedAt: new Date(Date.now() - 3_600_000).toISOString() })],
      ['older-release', sealedDesired(signer, DEVICE, desired(9), { releaseCreatedAt: '2020-01-01T00:00:00.000Z' })],
      ['invalid', 'not json'],
    ];
    for (const [code, bytes] of cases) {
      await expect(gate.admit(bytes)).resolves.toMatchObject({ ok: false, code });
    }
    expect(await files()).toEqual(before);
    expect(keys.keys()).toEqual([signer.key]);
    // The rev 2^53-1 forgery left nothing behind: the next genuine rev is taken.
    await expect(take(sealedDesired(signer, DEVICE, desired(6)))).resolves.toBe(6);
  });

  it('takes an older release only through a signed rollback, and a clearing like anything else', async () => {
    await take(sealedDesired(signer, DEVICE, desired(1)));
    await take(sealedDesired(signer, DEVICE, desired(2, { release: null })));
    const old = '2020-01-01T00:00:00.000Z';
    await expect(gate.admit(sealedDesired(signer, DEVICE, desired(3), { releaseCreatedAt: old }))).resolves.toMatchObject({
      ok: false,
      code: 'older-release',
    });
    await expect(take(sealedDesired(signer, DEVICE, desired(3), { releaseCreatedAt: old, rollback: true }))).resolves.toBe(3);
  });

  it('learns rotated keys and revocations only from a desired whose signature verifies, and keeps them', async () => {
    const next = testSigner();
    const chain = [endorseKey(next.key, signer)];
    // Unsigned, the chain is not believed: nothing is learned.
    await gate.admit(JSON.stringify({ ...desired(1), keyEndorsements: chain }));
    expect(keys.keys()).toEqual([signer.key]);

    await take(sealedDesired(next, DEVICE, desired(1, { keyEndorsements: chain }), { revokedKeys: [signer.key.keyId] }));
    expect(keys.keys()).toEqual([next.key]);
    await expect(gate.admit(sealedDesired(signer, DEVICE, desired(2)))).resolves.toMatchObject({ ok: false, code: 'revoked-key' });

    const reopened = await TrustedKeyStore.open({ stateDir, pinned: [signer.key], logger: silentLogger });
    expect(reopened.keys()).toEqual([next.key]);
  });

  it('takes nothing once the key file that holds a revocation is torn, rather than trusting the revoked key again', async () => {
    const [a, b] = [testSigner(), testSigner()];
    const pinned = [a.key, b.key];
    const gateOn = (trust: TrustedKeyStore) =>
      new DesiredGate({ deviceId: DEVICE, trust, watermark: new WatermarkFile(stateDir), clock: systemClock, heldRev: () => held });
    const first = gateOn(await TrustedKeyStore.open({ stateDir, pinned, logger: silentLogger }));
    const bySigner = (s: typeof a, rev: number, extra: Parameters<typeof sealedDesired>[3] = {}) =>
      sealedDesired(s, DEVICE, signedDesired(s, rev, [minimalComponent('web', 'registry.test/web:1')]), extra);
    expect(await first.admit(bySigner(b, 1, { revokedKeys: [a.key.keyId] }))).toMatchObject({ ok: true });
    expect(await first.admit(bySigner(a, 2))).toMatchObject({ ok: false, code: 'revoked-key' });

    await writeFile(join(stateDir, LEARNED_KEYS_FILE), '{"schema":1,"keys":[],"revo');
    const torn = gateOn(await TrustedKeyStore.open({ stateDir, pinned, logger: silentLogger }));
    const before = await files();
    await expect(torn.admit(bySigner(a, 3))).rejects.toMatchObject({ code: 'release-keys-corrupt', terminal: true });
    await expect(torn.admit(bySigner(b, 3))).rejects.toThrow(/release-keys\.json is not JSON/);
    expect(await files()).toEqual(before);
  });

  it('hands on the verified statement of a rev delivered again (the answer to a token refresh), keeping no file', async () => {
    await take(sealedDesired(signer, DEVICE, desired(5)));
    const before = await files();
    const fresh = { registry: 'registry.test', token: 'fresh', expiresAt: new Date(Date.now() + 900_000).toISOString() };
    const again = await gate.admit(sealedDesired(signer, DEVICE, desired(5, { registryAuth: [fresh] })));
    expect(again).toMatchObject({ ok: false, code: 'duplicate', statement: { rev: 5, registryAuth: [fresh] } });
    // Not verified, not handed on: one signed by a stranger, or for another device.
    expect(await gate.admit(sealedDesired(testSigner(), DEVICE, desired(5)))).not.toHaveProperty('statement');
    expect(await gate.admit(sealedDesired(signer, 'dev_other', desired(5)))).not.toHaveProperty('statement');
    expect(await files()).toEqual(before);
  });
});
