import { encodePayload, VerifiedSignatures } from '@flotilla/shared';
import { inMemorySigning } from '../../../control-plane/src/testing/desired';
import { SimAdmission } from './sim-admission';

/** Unit (real ed25519): a simulated device refuses what an agent refuses. */
const signing = inMemorySigning();
const other = inMemorySigning();
const content = (deviceId: string, rev: number) => ({ deviceId, rev, release: null, releaseCreatedAt: null, rollback: false, config: {} });
const bytes = (s = signing, deviceId = 'dev_a', rev = 1) => Buffer.from(encodePayload('desired', s.sealDesired(content(deviceId, rev))));

describe('SimAdmission', () => {
  it('takes a statement signed for it, once', () => {
    const check = new SimAdmission('dev_a', signing.releaseKeys());
    expect(check.admit(bytes(), 0)).toMatchObject({ ok: true, statement: { deviceId: 'dev_a', rev: 1 } });
    expect(check.admit(bytes(), 1)).toMatchObject({ ok: false, duplicate: true });
  });

  it('refuses an unsigned one, one signed by another key, and one for another device', () => {
    const check = new SimAdmission('dev_a', signing.releaseKeys());
    expect(check.admit(Buffer.from(JSON.stringify({ schema: 1, rev: 5, release: null, config: {} })), 0)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('not a signed desired state'),
    });
    expect(check.admit(bytes(other), 0)).toMatchObject({ ok: false, reason: expect.stringContaining('does not trust') });
    expect(check.admit(bytes(signing, 'dev_b'), 0)).toMatchObject({ ok: false, reason: expect.stringContaining('for device dev_b') });
  });
});

describe('SimAdmission with verified signatures shared by the devices of a simulation', () => {
  it('a batch signature remembered from one device does not pass a message altered under it', () => {
    const verified = new VerifiedSignatures();
    const sealer = signing.desiredSealer();
    const [a, b] = sealer.sealAll([content('dev_a', 1), content('dev_b', 1)]).map((s) => {
      if (s instanceof Error) throw s;
      return s.envelope;
    });
    expect(new SimAdmission('dev_a', signing.releaseKeys(), verified).admit(Buffer.from(encodePayload('desired', a!)), 0)).toMatchObject({
      ok: true,
    });
    const forged = { ...b!, statement: b!.statement.replace('"rev":1', '"rev":2') };
    expect(
      new SimAdmission('dev_b', signing.releaseKeys(), verified).admit(Buffer.from(encodePayload('desired', forged)), 0),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('altered or forged'),
    });
    expect(new SimAdmission('dev_b', signing.releaseKeys(), verified).admit(Buffer.from(encodePayload('desired', b!)), 0)).toMatchObject({
      ok: true,
    });
  });
});
