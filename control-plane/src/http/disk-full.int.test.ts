import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startHarness, type Harness } from '../testing/harness';
import { mountSmallDisk, type SmallDisk } from '../../../test/support/small-disk';

/**
 * Integration (real tmpfs file systems, real PostgreSQL, real HTTP): a full disk under the data
 * directory, or under the database's table, is a 507 with a code that says which, writes
 * nothing, leaves reads served, and passes once there is room again, without a restart.
 */
jest.setTimeout(60_000);
let h: Harness;
let dataDisk: SmallDisk;
let tableDisk: SmallDisk;
const tablespace = `flotilla_small_${process.pid}`;

beforeAll(async () => {
  dataDisk = await mountSmallDisk(2048);
  tableDisk = await mountSmallDisk(1024, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()));
  const dataDir = join(dataDisk.path, 'data');
  await mkdir(dataDir);
  h = await startHarness({ dataDir });
});
afterAll(async () => {
  await h?.close();
  await h?.db.admin(`DROP TABLESPACE IF EXISTS ${tablespace}`);
  await dataDisk?.unmount();
  await tableDisk?.unmount();
});

describe('a full disk', () => {
  it('under the data directory: a key rotation is 507 disk_full, the keys stay as they were, and it passes once there is room', async () => {
    const before = await (await h.api('/api/v1/signing-keys')).json();
    await dataDisk.fill();
    try {
      const rotated = await h.api('/api/v1/signing-keys/rotate', { method: 'POST' });
      expect(rotated.status).toBe(507);
      expect(await rotated.json()).toMatchObject({ code: 'disk_full' });
      const listed = await h.api('/api/v1/signing-keys');
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual(before);
    } finally {
      await dataDisk.free();
    }
    expect((await h.api('/api/v1/signing-keys/rotate', { method: 'POST' })).status).toBe(200);
  });

  it('under the database: a write is 507 database_disk_full, reads are served, and it passes once there is room', async () => {
    await h.db.admin(`CREATE TABLESPACE ${tablespace} LOCATION '${tableDisk.path}'`);
    await h.db.query(`ALTER TABLE fleets SET TABLESPACE ${tablespace}`);
    await tableDisk.fill();
    try {
      // Fill the table's last page too, so that the next row needs a new one, which cannot be had.
      for (let i = 0; ; i++) {
        const full = await h.db.query(`INSERT INTO fleets (id, name) VALUES (gen_random_uuid(), $1)`, [`filler-${i}`]).then(
          () => false,
          (e: { code?: string }) => e.code === '53100',
        );
        if (full) break;
        if (i > 10_000) throw new Error('the table never filled its disk');
      }
      const created = await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'on-a-full-disk' }) });
      expect(created.status).toBe(507);
      expect(created.headers.get('retry-after')).toBe('2');
      expect(await created.json()).toMatchObject({ code: 'database_disk_full' });
      expect((await h.api('/api/v1/fleets')).status).toBe(200);
    } finally {
      await tableDisk.free();
    }
    expect((await h.api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'on-a-full-disk' }) })).status).toBe(201);
    await h.db.query('ALTER TABLE fleets SET TABLESPACE pg_default');
  });
});
