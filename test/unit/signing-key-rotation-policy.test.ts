import { generateKeyPairSync } from 'node:crypto';
import { PROTOCOL_SCHEMA, readSignedDesired, verifyDesiredSignature, type ReleaseKey } from '@flotilla/shared';
import { learnEndorsedKeys, vouchedKeyIds } from '../../agent/src/provisioning/trusted-keys';
import type { StoredKey } from '../../control-plane/src/signing/key-store';
import { DEFAULT_KEY_HORIZON, Keyring } from '../../control-plane/src/signing/keyring';

/**
 * Unit (real ed25519, no I/O): a daily rotation policy run for ten years (3,650 rotations)
 * against the control plane's keyring and the agent's trust rules. The chain `desired` carries
 * never exceeds the horizon; a device that checks in at least once per horizon keeps verifying
 * for the whole ten years with a bounded set of trusted keys; one away for exactly the horizon
 * still catches up, and one away longer cannot (it must be re-provisioned: the documented bound).
 */
const DAYS = 3_650;
const HORIZON = DEFAULT_KEY_HORIZON;
const DAY_MS = 86_400_000;

function newKey(day: number): StoredKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { name: String(day * DAY_MS).padStart(13, '0'), privateKey, publicKey, createdAt: new Date(day * DAY_MS) };
}

interface Device {
  name: string;
  trusted: ReleaseKey[];
  /** Days on which it reaches the control plane. */
  online: (day: number) => boolean;
  verifiedUntil: number;
  failedOn?: number;
}

/** One check-in as the agent's gate does it: learn from the chain, verify the whole statement, keep what is vouched for. */
function checkIn(device: Device, ring: Keyring, day: number): void {
  const sealed = ring.sealDesired({
    schema: PROTOCOL_SCHEMA,
    deviceId: device.name,
    rev: day + 1,
    release: null,
    config: {},
    issuedAt: new Date(day * DAY_MS).toISOString(),
    expiresAt: new Date((day + 1) * DAY_MS).toISOString(),
    releaseCreatedAt: null,
    rollback: false,
    keyEndorsements: ring.endorsedKeys(),
  });
  const read = readSignedDesired(JSON.stringify(sealed));
  if (!read.ok) throw new Error(read.reason);
  const chain = read.statement.keyEndorsements ?? [];
  const learned = learnEndorsedKeys(device.trusted, chain);
  const verified = verifyDesiredSignature(read.envelope, learned.trusted);
  if (!verified.ok) {
    device.failedOn ??= day;
    return;
  }
  const vouched = vouchedKeyIds(verified.keyId, chain);
  device.trusted = learned.trusted.filter((k) => vouched.has(k.keyId));
  device.verifiedUntil = day;
}

describe(`signing keys rotated daily for ten years (horizon ${HORIZON})`, () => {
  it('keeps the chain bounded, and every device seen within the horizon verifies', () => {
    const ring = new Keyring([newKey(0)]);
    const firstKeys = ring.releaseKeys();
    const device = (name: string, online: (day: number) => boolean, trusted = firstKeys): Device => ({
      name,
      trusted,
      online,
      verifiedUntil: -1,
    });
    const lastSeen = (d: number) => (day: number) => day <= d && (day % 30 === 0 || day === d);
    const devices: Device[] = [
      device('every-horizon', (day) => day % HORIZON === 0),
      device('monthly', (day) => day % 30 === 0),
      device('seen-yesterday', lastSeen(DAYS - 1)),
      device('away-half-horizon', lastSeen(DAYS - HORIZON / 2)),
      device('away-exactly-horizon', lastSeen(DAYS - HORIZON)),
      device('away-horizon-plus-one', lastSeen(DAYS - HORIZON - 1)),
      device('away-since-year-one', lastSeen(365)),
    ];
    let longestChain = 0;
    let mostTrusted = 0;
    for (let day = 1; day <= DAYS; day++) {
      ring.add(newKey(day));
      const plan = ring.chainPlan();
      longestChain = Math.max(longestChain, plan.length);
      if (day === DAYS - 10) devices.push(device('provisioned-late', (d) => d === DAYS, ring.releaseKeys()));
      for (const d of devices.filter((d) => d.online(day) || day === DAYS)) {
        checkIn(d, ring, day);
        mostTrusted = Math.max(mostTrusted, d.trusted.length);
      }
    }
    const outcome = Object.fromEntries(devices.map((d) => [d.name, d.verifiedUntil === DAYS ? 'verifies' : `lost on day ${d.failedOn}`]));
    expect(outcome).toEqual({
      'every-horizon': 'verifies',
      monthly: 'verifies',
      'seen-yesterday': 'verifies',
      'away-half-horizon': 'verifies',
      'away-exactly-horizon': 'verifies',
      'away-horizon-plus-one': `lost on day ${DAYS}`,
      'away-since-year-one': `lost on day ${DAYS}`,
      'provisioned-late': 'verifies',
    });
    expect(longestChain).toBe(HORIZON);
    expect(ring.endorsedKeys()).toHaveLength(HORIZON);
    expect(ring.releaseKeys()).toHaveLength(HORIZON + 1);
    expect(mostTrusted).toBeLessThanOrEqual(HORIZON + 1);
    // What a `desired` carries for the chain, after 3,650 rotations: bounded, not 3,650 links.
    const chainBytes = JSON.stringify(ring.endorsedKeys()).length;
    expect(chainBytes).toBeLessThan(12 * 1024);
  });
});
