import { strictFake } from '../testing/strict-fake';
import { DeviceDirectory } from './device-directory';
import type { DeviceDirectoryRepository, DirectoryChange, DirectoryConnection, DirectoryRow } from './device-directory.repository';

const row = (id: string): DirectoryRow => ({ id, passwordHash: `hash-${id}`, desiredRev: 0 });

/**
 * The directory's bookkeeping against a stand-in for its listening connection (the database side is
 * device-directory.int.test.ts): which devices it tells as revoked, heard or found missing.
 */
function directoryOver(tables: DirectoryRow[][]) {
  const sessions: {
    changed: (c: DirectoryChange) => void;
    lost: (c: DirectoryConnection, e: Error) => void;
    connection: DirectoryConnection;
  }[] = [];
  let rows = tables[0]!;
  const repository = strictFake<DeviceDirectoryRepository>('DeviceDirectoryRepository', {
    listen: async (changed, lost) => {
      const connection: DirectoryConnection = {
        loadAll: async () => rows,
        load: async (ids) => rows.filter((r) => ids.includes(r.id)),
        loadOne: async (id) => rows.find((r) => r.id === id),
        close: async () => undefined,
      };
      sessions.push({ changed, lost, connection });
      return connection;
    },
  });
  const directory = new DeviceDirectory(repository);
  return { directory, sessions, setRows: (next: DirectoryRow[]) => (rows = next) };
}

describe('DeviceDirectory.onRevoked', () => {
  it('tells a device found gone when its change is read, once, and not one this process forgot itself', async () => {
    const { directory, sessions, setRows } = directoryOver([[row('a'), row('b'), row('c')]]);
    await directory.onModuleInit();
    const revoked: string[] = [];
    directory.onRevoked((id) => revoked.push(id));
    directory.forget('c');
    setRows([row('b')]);
    const told = new Promise<void>((resolve) => directory.onRevoked(() => resolve()));
    for (const id of ['a', 'b', 'c']) sessions[0]!.changed({ id });
    await told;
    expect(revoked).toEqual(['a']);
    await directory.onApplicationShutdown();
  });

  it('tells the devices gone while its connection was down, found missing at the reload', async () => {
    const { directory, sessions, setRows } = directoryOver([[row('a'), row('b')]]);
    await directory.onModuleInit();
    const told = new Promise<string>((resolve) => directory.onRevoked(resolve));
    sessions[0]!.lost(sessions[0]!.connection, new Error('connection reset'));
    // Decommissioned meanwhile: no notification reaches a connection that is down.
    setRows([row('b')]);
    // The reconnect waits its backoff (500 ms) on Jest's clock.
    await jest.advanceTimersByTimeAsync(500);
    await expect(told).resolves.toBe('a');
    expect(sessions).toHaveLength(2);
    await directory.onApplicationShutdown();
  });
});
