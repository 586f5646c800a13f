import { deviceTopic, type ReleaseView } from '@flotilla/shared';
import { Client } from 'pg';
import { eventually, nextMessage, startHarness, type Harness } from '../testing/harness';
import { openDesired } from '../testing/desired';
import { manifest } from '../testing/sim-fleet';

/**
 * Integration: a real control plane and PostgreSQL, a device over MQTT/TCP. The database fails a
 * `desired/get` transiently on its last read (the registry access, after the pointer and the
 * release): the test holds that table locked and terminates the control plane's backend waiting
 * on it, twice, as an administrator or a failover would (SQLSTATE 57P01). The device still gets
 * its desired state once the table is free again.
 */
let h: Harness;
let admin: Client;
beforeAll(async () => {
  h = await startHarness();
  admin = new Client({ connectionString: h.db.url });
  await admin.connect();
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
  for (let cut = 0; cut < 2; cut++) await terminateWaiterOn('registry_credentials');
  await admin.query('COMMIT');

  const desired = openDesired((await arriving).payload);
  expect(desired).toMatchObject({ deviceId: device.deviceId, rev: 1, release: { id: release.id } });
}, 60_000);

/** Waits until a backend of the control plane waits for the lock on `table`, then ends it. */
async function terminateWaiterOn(table: string): Promise<void> {
  let pid: number | undefined;
  await eventually(
    async () => {
      // Inside the locking transaction: without this, pg_stat_activity answers its first snapshot again.
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const rows = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE $1`,
        [`%${table}%`],
      );
      pid = rows.rows[0]?.pid;
      return pid !== undefined;
    },
    20_000,
    `a read of ${table} waiting on the lock`,
  );
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  // Gone before the next wait is looked for, so the same backend is never counted twice.
  await eventually(
    async () => {
      await admin.query('SELECT pg_stat_clear_snapshot()');
      return (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 0;
    },
    10_000,
    'the backend ended',
  );
}
