import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  contentDigest,
  deviceTopic,
  verifyKeyEndorsement,
  verifyRelease,
  type ProvisioningTokenView,
  type RegisterDeviceResponse,
  type ReleaseView,
  type SigningKeysView,
} from '@flotilla/shared';
import { nextMessage, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';
import { SIGNING_KEYS_DIR } from './key-store';

const manifest = (version: string) => `
name: signed
x-flotilla: { version: ${version} }
services:
  web:
    image: 127.0.0.1:5000/flotilla/busybox@sha256:${'c'.repeat(64)}
    environment: { GREETING: hello }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await h.api(path, init);
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const publish = (version: string) =>
  json<ReleaseView>('/api/v1/releases', { method: 'POST', body: manifest(version), headers: { 'content-type': 'application/yaml' } });

describe('release signing', () => {
  it('keeps the generated key under the data directory, 0600', async () => {
    const keys = await json<SigningKeysView>('/api/v1/signing-keys');
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ algorithm: 'ed25519', current: true, endorsement: null });
    expect(keys.keys[0]!.publicKey).toContain('BEGIN PUBLIC KEY');
    expect(JSON.stringify(keys)).not.toContain('PRIVATE');
    const dir = join(h.cp.dataDir, SIGNING_KEYS_DIR);
    const { readdir } = await import('node:fs/promises');
    const [file] = await readdir(dir);
    expect((await stat(join(dir, file!))).mode & 0o777).toBe(0o600);
  });

  it('signs every release: verified by the public key from GET /signing-keys; a modified release fails', async () => {
    const release = await publish('1.0.0');
    const { keys } = await json<SigningKeysView>('/api/v1/signing-keys');
    expect(release.signature.keyId).toBe(keys[0]!.keyId);
    expect(verifyRelease(release, keys)).toEqual({ ok: true, keyId: keys[0]!.keyId });

    const tampered = structuredClone(release);
    tampered.assembly.components[0]!.environment.GREETING = 'evil';
    tampered.digest = contentDigest(tampered.assembly);
    expect(verifyRelease(tampered, keys)).toMatchObject({ ok: false });
  });

  it('delivers the signature in desired.release and pins the keys in provisioning.json', async () => {
    const token = await json<ProvisioningTokenView>('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' });
    const { keys } = await json<SigningKeysView>('/api/v1/signing-keys');
    expect(token.provisioning).toEqual({
      schema: 1,
      apiUrl: h.cp.httpUrl,
      mqttUrl: h.cp.mqttUrl,
      token: token.token,
      releaseKeys: keys.map((k) => ({ keyId: k.keyId, publicKey: k.publicKey })),
    });
    const device = await json<RegisterDeviceResponse>('/api/v1/devices/register', {
      method: 'POST',
      body: JSON.stringify({ token: token.token }),
    });
    expect(device.releaseKeys).toEqual(token.provisioning.releaseKeys);

    const release = await publish('1.1.0');
    const client = await h.connectDevice(device);
    const topic = deviceTopic(device.deviceId, 'desired');
    await client.subscribeAsync(topic, { qos: 1 });
    const arriving = nextMessage(client, topic);
    await json(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) });
    const desired = openDesired((await arriving).payload, token.provisioning.releaseKeys);
    expect(desired.release!.signature).toEqual(release.signature);
    expect(verifyRelease(desired.release!, token.provisioning.releaseKeys)).toMatchObject({ ok: true });
  });

  it('signs the whole desired state for one device, and marks a move back to an older release as a rollback', async () => {
    const [older, newer] = [await publish('3.0.0'), await publish('3.1.0')];
    const device = await h.registerDevice('rollback-flag');
    const client = await h.connectDevice(device);
    const topic = deviceTopic(device.deviceId, 'desired');
    await client.subscribeAsync(topic, { qos: 1 });
    const assign = async (releaseId: string) => {
      const arriving = nextMessage(client, topic);
      await json(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId }) });
      return openDesired((await arriving).payload, device.releaseKeys);
    };
    expect(await assign(older.id)).toMatchObject({ deviceId: device.deviceId, rev: 1, rollback: false, releaseCreatedAt: older.createdAt });
    expect(await assign(newer.id)).toMatchObject({ rev: 2, rollback: false });
    expect(await assign(older.id)).toMatchObject({ rev: 3, rollback: true, releaseCreatedAt: older.createdAt });
    await client.endAsync(true);
  });

  it('rotates (admin only): the new key signs from now on, old keys stay listed and old releases keep verifying', async () => {
    const before = await publish('2.0.0');
    const [oldKey] = (await json<SigningKeysView>('/api/v1/signing-keys')).keys;
    // Rotations past the horizon cut away devices off the key chain, as a revocation can: not an operator's call.
    const operator = await json<{ key: string }>('/api/v1/operators/keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'rotator', role: 'operator' }),
    });
    const asOperator = await h.api('/api/v1/signing-keys/rotate', {
      method: 'POST',
      auth: false,
      headers: { authorization: `Bearer ${operator.key}` },
    });
    expect(asOperator.status).toBe(403);
    expect((await json<SigningKeysView>('/api/v1/signing-keys')).keys).toHaveLength(1);
    const rotated = await json<SigningKeysView>('/api/v1/signing-keys/rotate', { method: 'POST' });
    expect(rotated.keys).toHaveLength(2);
    const [first, second] = rotated.keys;
    expect(first).toMatchObject({ keyId: oldKey!.keyId, current: false });
    expect(second).toMatchObject({ current: true, endorsement: { keyId: oldKey!.keyId } });
    // A device pinning only the old key can learn the new one from the endorsement.
    expect(verifyKeyEndorsement(second!, second!.endorsement!, [oldKey!])).toBe(true);
    expect(verifyKeyEndorsement(second!, { ...second!.endorsement!, value: first!.endorsement?.value ?? 'AAAA' }, [oldKey!])).toBe(false);

    const after = await publish('2.1.0');
    expect(after.signature.keyId).toBe(second!.keyId);
    expect(verifyRelease(after, [oldKey!])).toMatchObject({ ok: false });
    expect(verifyRelease(after, rotated.keys)).toMatchObject({ ok: true });
    expect(verifyRelease(await json<ReleaseView>(`/api/v1/releases/${before.id}`), [oldKey!])).toMatchObject({ ok: true });

    const token = await json<ProvisioningTokenView>('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' });
    expect(token.provisioning.releaseKeys.map((k) => k.keyId)).toEqual([first!.keyId, second!.keyId]);
  });

  it('revokes (admin only, audited): the private key is destroyed, desired names it, and a re-signed release still verifies', async () => {
    const release = await publish('4.0.0');
    await json('/api/v1/signing-keys/rotate', { method: 'POST' });
    const { keys } = await json<SigningKeysView>('/api/v1/signing-keys');
    const [victim, current] = [keys.find((k) => k.keyId === release.signature.keyId)!, keys.at(-1)!];
    expect(victim.status).toBe('trusted');

    const operator = (await json<{ key: string }>('/api/v1/operators/keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'ops', role: 'operator' }),
    })) as { key: string };
    const asOperator = await h.api(`/api/v1/signing-keys/${victim.keyId}/revoke`, {
      method: 'POST',
      auth: false,
      headers: { authorization: `Bearer ${operator.key}` },
    });
    expect(asOperator.status).toBe(403);
    expect((await h.api('/api/v1/signing-keys/ed25519:0000000000000000/revoke', { method: 'POST' })).status).toBe(404);

    const after = await json<SigningKeysView>(`/api/v1/signing-keys/${victim.keyId}/revoke`, { method: 'POST' });
    expect(after.keys.find((k) => k.keyId === victim.keyId)).toMatchObject({ status: 'revoked', revokedAt: expect.any(String) });
    expect(after.keys.at(-1)).toMatchObject({ keyId: current.keyId, status: 'current' });
    const files = await (await import('node:fs/promises')).readdir(join(h.cp.dataDir, SIGNING_KEYS_DIR));
    expect(files.filter((f) => f.endsWith('.revoked.json'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.pem'))).toHaveLength(after.keys.filter((k) => k.status !== 'revoked').length);
    const audit = await json<{ items: { action: string; target: string | null }[] }>('/api/v1/audit?limit=1');
    expect(audit.items[0]).toMatchObject({ action: 'POST /api/v1/signing-keys/:id/revoke', target: victim.keyId });

    // A device gets the revocation inside the signed statement; the release signed by the revoked key is signed again.
    const device = await h.registerDevice('after-revocation');
    expect(device.releaseKeys.map((k) => k.keyId)).not.toContain(victim.keyId);
    const client = await h.connectDevice(device);
    const topic = deviceTopic(device.deviceId, 'desired');
    await client.subscribeAsync(topic, { qos: 1 });
    const arriving = nextMessage(client, topic);
    await json(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) });
    const desired = openDesired((await arriving).payload, [current]);
    await client.endAsync(true);
    expect(desired.revokedKeys).toEqual([victim.keyId]);
    expect(desired.keyEndorsements?.map((k) => k.endorsement.keyId)).not.toContain(victim.keyId);
    expect(desired.release!.signature.keyId).toBe(current.keyId);
    expect(verifyRelease(desired.release!, [current])).toMatchObject({ ok: true });
  });

  it('revoking the current key rotates first: the new key is endorsed by the others, never by the revoked one', async () => {
    const before = await json<SigningKeysView>('/api/v1/signing-keys');
    const current = before.keys.at(-1)!;
    const after = await json<SigningKeysView>(`/api/v1/signing-keys/${current.keyId}/revoke`, { method: 'POST' });
    const next = after.keys.at(-1)!;
    expect(next.keyId).not.toBe(current.keyId);
    expect(after.keys.find((k) => k.keyId === current.keyId)).toMatchObject({ status: 'revoked', current: false });
    expect(next).toMatchObject({ status: 'current', endorsement: null });
    const release = await publish('5.0.0');
    expect(release.signature.keyId).toBe(next.keyId);
    const device = await h.registerDevice('after-current-revoked');
    const client = await h.connectDevice(device);
    const topic = deviceTopic(device.deviceId, 'desired');
    await client.subscribeAsync(topic, { qos: 1 });
    const arriving = nextMessage(client, topic);
    await json(`/api/v1/devices/${device.deviceId}/release`, { method: 'PUT', body: JSON.stringify({ releaseId: release.id }) });
    const desired = openDesired((await arriving).payload, [next]);
    await client.endAsync(true);
    const trusted = after.keys.filter((k) => k.status === 'trusted').map((k) => k.keyId);
    expect(trusted.length).toBeGreaterThan(0);
    expect(desired.keyEndorsements?.map((k) => [k.keyId, k.endorsement.keyId])).toEqual(trusted.map((id) => [next.keyId, id]));
    // Twice is a no-op.
    expect(await json<SigningKeysView>(`/api/v1/signing-keys/${current.keyId}/revoke`, { method: 'POST' })).toEqual(after);
  });
});
