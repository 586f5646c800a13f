import { scryptSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import type { ReleaseView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../bootstrap';
import { eventually, startHarness, type Harness } from '../testing/harness';
import { manifest } from '../testing/sim-fleet';
import { hashPassword, newDevicePassword } from './credentials';
import { DeviceDirectory } from './device-directory';
import { DeviceDirectoryRepository } from './device-directory.repository';

/**
 * Integration: two control planes (replicas) on one real PostgreSQL, devices over real MQTT/TCP.
 * Credentials and desired revs are answered from each replica's memory (DeviceDirectory); these
 * tests prove that memory is never behind in a way a device could use.
 */
// Two control planes start in this file; a loaded machine makes that slow.
jest.setTimeout(30_000);

let h: Harness;
let replica: RunningControlPlane;
let replicaDir: string;

beforeAll(async () => {
  h = await startHarness();
  replicaDir = await mkdtemp(join(tmpdir(), 'flotilla-replica-'));
  replica = await startControlPlane(
    { host: '127.0.0.1', port: 0, mqttPort: 0, dataDir: replicaDir, databaseUrl: h.db.url, apiKey: h.cp.apiKey },
    { logLevels: ['error'] },
  );
}, 60_000);
afterAll(async () => {
  await replica?.close();
  await h?.close();
  await rm(replicaDir, { recursive: true, force: true });
}, 30_000);

/** Connects and disconnects; rejects with the CONNACK refusal (`code`) if refused. */
async function login(mqttUrl: string, deviceId: string, password: string): Promise<void> {
  const client = await connectAsync(mqttUrl, {
    clientId: deviceId,
    username: deviceId,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  await client.endAsync(true);
}

/** A device password as the control plane stored it before it stored digests (scrypt, N=16, r=1). */
function scryptHash(password: string): string {
  const salt = Buffer.from('0123456789abcdef');
  return ['scrypt', 16, 1, 1, salt.toString('base64'), scryptSync(password, salt, 32, { N: 16, r: 1, p: 1 }).toString('base64')].join('$');
}

const refused = (url: string, id: string, password: string) =>
  login(url, id, password).then(
    () => 'accepted',
    (e: { code?: number }) => e.code,
  );

describe('DeviceDirectory (credentials and desired revs in memory, kept current across replicas)', () => {
  it('lets a device registered a moment ago connect at once, on the replica that registered it and on another', async () => {
    const a = await h.registerDevice();
    await login(h.cp.mqttUrl, a.deviceId, a.password);
    const b = await h.registerDevice();
    await login(replica.mqttUrl, b.deviceId, b.password);
  });

  it('refuses a decommissioned device at once on the replica that revoked it, and on the other once it heard', async () => {
    const device = await h.registerDevice();
    await login(h.cp.mqttUrl, device.deviceId, device.password);
    await login(replica.mqttUrl, device.deviceId, device.password);
    expect((await h.api(`/api/v1/devices/${device.deviceId}/decommission`, { method: 'POST' })).status).toBe(200);
    await expect(refused(h.cp.mqttUrl, device.deviceId, device.password)).resolves.toBe(4);
    await eventually(async () => (await refused(replica.mqttUrl, device.deviceId, device.password)) === 4, 5000, 'the replica refusing');
  });

  it('closes the session a device holds on another replica once it is decommissioned there, or its row deleted', async () => {
    const [decommissioned, deleted] = [await h.registerDevice(), await h.registerDevice()];
    const sessions = await Promise.all(
      [decommissioned, deleted].map((d) =>
        connectAsync(replica.mqttUrl, {
          clientId: d.deviceId,
          username: d.deviceId,
          password: d.password,
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 5000,
        }),
      ),
    );
    try {
      expect((await h.api(`/api/v1/devices/${decommissioned.deviceId}/decommission`, { method: 'POST' })).status).toBe(200);
      await h.db.query('DELETE FROM devices WHERE id = $1', [deleted.deviceId]);
      await eventually(async () => sessions.every((c) => !c.connected), 5000, 'both sessions on the replica closed');
    } finally {
      await Promise.all(sessions.map((c) => c.endAsync(true)));
    }
  });

  it('follows changes made by any path: a replaced credential and a deleted row', async () => {
    const device = await h.registerDevice();
    await login(h.cp.mqttUrl, device.deviceId, device.password);
    await login(replica.mqttUrl, device.deviceId, device.password);
    // Straight in the database, as an operator's script or a future code path would: the triggers announce it.
    const rotated = newDevicePassword();
    await h.db.query('UPDATE devices SET password_hash = $2 WHERE id = $1', [device.deviceId, hashPassword(rotated)]);
    for (const url of [h.cp.mqttUrl, replica.mqttUrl]) {
      await eventually(async () => (await refused(url, device.deviceId, device.password)) === 4, 5000, 'the old password refused');
      await login(url, device.deviceId, rotated);
    }
    await h.db.query('DELETE FROM devices WHERE id = $1', [device.deviceId]);
    for (const url of [h.cp.mqttUrl, replica.mqttUrl]) {
      await eventually(async () => (await refused(url, device.deviceId, rotated)) === 4, 5000, 'the deleted device refused');
    }
  });

  it("stores the password's digest in place of an earlier version's scrypt hash at its first login, on every replica", async () => {
    const device = await h.registerDevice();
    const storedHash = async () =>
      (await h.db.query<{ password_hash: string }>('SELECT password_hash FROM devices WHERE id = $1', [device.deviceId]))[0]!.password_hash;
    expect(await storedHash()).toBe(hashPassword(device.password));
    // As an earlier version stored it; both replicas hear of it.
    const legacy = scryptHash(device.password);
    await h.db.query('UPDATE devices SET password_hash = $2 WHERE id = $1', [device.deviceId, legacy]);
    for (const cp of [h.cp, replica]) {
      const directory = cp.app.get(DeviceDirectory);
      await eventually(async () => (await directory.passwordHash(device.deviceId)) === legacy, 5000, 'the scrypt hash in memory');
    }
    // A wrong password replaces nothing: had it, the right one would be refused next (memory is replaced before the CONNACK).
    await expect(refused(replica.mqttUrl, device.deviceId, `${device.password.slice(1)}x`)).resolves.toBe(4);
    await login(replica.mqttUrl, device.deviceId, device.password);
    await eventually(async () => (await storedHash()) === hashPassword(device.password), 5000, 'the digest stored');
    for (const cp of [h.cp, replica]) {
      const directory = cp.app.get(DeviceDirectory);
      await eventually(
        async () => (await directory.passwordHash(device.deviceId)) === hashPassword(device.password),
        5000,
        'the digest in memory',
      );
      await login(cp.mqttUrl, device.deviceId, device.password);
    }
    // Written only where the device still holds the hash that was verified: one replaced meanwhile stays.
    await h.cp.app
      .get(DeviceDirectoryRepository)
      .replacePasswordHashes([{ id: device.deviceId, from: legacy, to: hashPassword(newDevicePassword()) }]);
    expect(await storedHash()).toBe(hashPassword(device.password));
  });

  it("holds the current desired rev on every replica, moved by the other replica's change", async () => {
    const device = await h.registerDevice();
    const release = (await (
      await h.api('/api/v1/releases', { method: 'POST', body: manifest('1.0.0'), headers: { 'content-type': 'application/yaml' } })
    ).json()) as ReleaseView;
    const directory = replica.app.get(DeviceDirectory);
    await eventually(async () => directory.desiredRev(device.deviceId) === 0, 5000, 'the new device on the replica');
    const res = await h.api(`/api/v1/devices/${device.deviceId}/release`, {
      method: 'PUT',
      body: JSON.stringify({ releaseId: release.id }),
    });
    expect(res.status).toBe(200);
    const [{ desired_rev: rev }] = await h.db.query<{ desired_rev: number }>('SELECT desired_rev FROM devices WHERE id = $1', [
      device.deviceId,
    ]);
    expect(rev).toBe(1);
    await eventually(async () => directory.desiredRev(device.deviceId) === rev, 5000, 'the new rev on the replica');
    expect(h.cp.app.get(DeviceDirectory).desiredRev(device.deviceId)).toBe(rev);
  });

  it('takes a rev announced beside the id as it comes, without reading the row, and never a lower one', async () => {
    const [device, sentinel] = [await h.registerDevice(), await h.registerDevice()];
    const directory = h.cp.app.get(DeviceDirectory);
    await eventually(async () => directory.desiredRev(sentinel.deviceId) === 0, 5000, 'both devices in memory');
    // Announced by hand, as the trigger does when only the rev moved: the row itself stays at 0.
    const announce = (id: string, rev: number) => h.db.query('SELECT pg_notify($1, $2)', ['flotilla_device_directory', `${id} ${rev}`]);
    await announce(device.deviceId, 42);
    await eventually(async () => directory.desiredRev(device.deviceId) === 42, 5000, 'the announced rev');
    await announce(device.deviceId, 5);
    // Announcements arrive in order: once the sentinel's is taken, the lower one was heard.
    await announce(sentinel.deviceId, 7);
    await eventually(async () => directory.desiredRev(sentinel.deviceId) === 7, 5000, "the sentinel's rev");
    expect(directory.desiredRev(device.deviceId)).toBe(42);
  });

  it('answers CONNACK while every connection of the pool is taken', async () => {
    const device = await h.registerDevice();
    await login(h.cp.mqttUrl, device.deviceId, device.password);
    // Every connection of the pool is held until the login is through: a login that waited for one would time out.
    const pool = await h.holdPool();
    await login(h.cp.mqttUrl, device.deviceId, device.password);
    await pool.release();
  }, 30_000);
});
