import { deviceTopic, type ReleaseView } from '@flotilla/shared';
import { nextMessage, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';
import { LockingSession } from '../testing/locking-session';
import { manifest } from '../testing/sim-fleet';

/**
 * Integration: a real control plane and PostgreSQL, a device over MQTT/TCP. The database fails a
 * `desired/get` transiently on its last read (the registry access, after the pointer and the
 * release): the test holds that table locked and terminates the control plane's backend waiting
 * on it, twice, as an administrator or a failover would (SQLSTATE 57P01). The device still gets
 * its desired state once the table is free again.
 */
let h: Harness;
let admin: LockingSession;
beforeAll(async () => {
  h = await startHarness();
  admin = await LockingSession.open(h.db.url);
}, 60_000);
afterAll(async () => {
  await admin?.end();
  await h?.close();
}, 30_000);

it('answers a desired/get whose reads fail on a lost database connection, once the database serves again', async () => {
  const res = await h.api('/api/v1/releases', { method: 'POST', body: manifest('1.0.0'), headers: { 'content-type': 'application/yaml' } });
  const release = (await res.json()) as ReleaseView;
  const device = await h.registerDevice();
  // Assigned while the device is away: it learns of it by asking.
  const assigned = await h.api(`/api/v1/devices/${device.deviceId}/release`, {
    method: 'PUT',
    body: JSON.stringify({ releaseId: release.id }),
  });
  expect(assigned.status).toBe(200);
  const client = await h.connectDevice(device);
  await client.subscribeAsync(deviceTopic(device.deviceId, 'desired'), { qos: 1 });

  await admin.query('BEGIN');
  await admin.query('LOCK TABLE registry_credentials IN ACCESS EXCLUSIVE MODE');
  const arriving = nextMessage(client, deviceTopic(device.deviceId, 'desired'), 30_000);
  await client.publishAsync(deviceTopic(device.deviceId, 'desired/get'), JSON.stringify({ schema: 1, rev: 0 }), { qos: 1 });
  for (let cut = 0; cut < 2; cut++) {
    const [waiting] = await admin.waitersOn('registry_credentials');
    await admin.terminate(waiting!);
  }
  await admin.query('COMMIT');

  const desired = openDesired((await arriving).payload);
  expect(desired).toMatchObject({ deviceId: device.deviceId, rev: 1, release: { id: release.id } });
}, 60_000);
