import { admitDesired, ZERO_WATERMARK, type DesiredWatermark } from './desired-admission';
import type { DesiredStatement } from './messages/desired';

/** Unit: the admission rule as data (the signature is checked before, in `desired-signing.ts`). */
const NOW = new Date('2026-12-01T12:00:00Z');
const release = {
  id: '6f1c1c2e-3a1b-4c55-9a7e-0d5e7a9b1c2d',
  digest: `sha256:${'c'.repeat(64)}`,
  assembly: { name: 'origin', version: '1.0.0', probationMs: 0, components: [], volumes: [], networks: ['default'] },
  signature: { alg: 'ed25519' as const, keyId: 'ed25519:0123456789abcdef', value: `${'A'.repeat(86)}==` },
};

function statement(overrides: Partial<DesiredStatement> = {}): DesiredStatement {
  return {
    schema: 1,
    deviceId: 'dev_a',
    rev: 5,
    release,
    config: {},
    issuedAt: '2026-12-01T11:59:00.000Z',
    expiresAt: '2026-12-01T12:59:00.000Z',
    releaseCreatedAt: '2026-11-30T00:00:00.000Z',
    rollback: false,
    ...overrides,
  };
}

const at = (watermark: DesiredWatermark, heldRev = 0) => ({ deviceId: 'dev_a', now: NOW, watermark, heldRev });
const seen: DesiredWatermark = { rev: 4, issuedAt: '2026-12-01T11:00:00.000Z', newestReleaseAt: '2026-11-30T00:00:00.000Z' };

describe('admitDesired', () => {
  it('takes a fresh, newer statement for this device and moves the watermark to it', () => {
    expect(admitDesired(statement(), at(seen))).toEqual({
      ok: true,
      watermark: { rev: 5, issuedAt: '2026-12-01T11:59:00.000Z', newestReleaseAt: '2026-11-30T00:00:00.000Z' },
    });
    expect(admitDesired(statement({ release: null, releaseCreatedAt: null }), at(ZERO_WATERMARK))).toMatchObject({ ok: true });
  });

  it.each([
    ['wrong-device', statement({ deviceId: 'dev_b' }), seen, 0],
    ['stale', statement({ expiresAt: '2026-12-01T12:00:00.000Z' }), seen, 0],
    ['replayed', statement({ rev: 3 }), seen, 0],
    ['replayed', statement({ rev: 5 }), seen, 6],
    ['duplicate', statement({ rev: 4 }), seen, 0],
    ['replayed', statement({ issuedAt: '2026-12-01T10:00:00.000Z' }), seen, 0],
    ['older-release', statement({ releaseCreatedAt: '2026-11-01T00:00:00.000Z' }), seen, 0],
  ])('refuses %s', (code, s, watermark, heldRev) => {
    expect(admitDesired(s, at(watermark, heldRev))).toMatchObject({ ok: false, code });
  });

  it('takes an older release with a signed rollback, keeping the newest release seen', () => {
    const back = statement({ releaseCreatedAt: '2026-11-01T00:00:00.000Z', rollback: true });
    expect(admitDesired(back, at(seen))).toMatchObject({ ok: true, watermark: { rev: 5, newestReleaseAt: '2026-11-30T00:00:00.000Z' } });
  });
});
