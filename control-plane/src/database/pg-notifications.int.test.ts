import { createTestDatabase, type TestDatabase } from '../testing/test-database';
import { PgNotifications } from './pg-notifications';

/** LISTEN on a dedicated connection against a real PostgreSQL, including the loss of that connection. */
let db: TestDatabase;
let notifications: PgNotifications;

beforeAll(async () => {
  db = await createTestDatabase();
  notifications = new PgNotifications(db.url);
});
afterAll(async () => {
  await notifications?.onApplicationShutdown();
  await db?.drop();
});

/** Every payload heard on `channel`, and a way to wait for the next one that matches. */
function recorder(channel: string) {
  const heard: (string | undefined)[] = [];
  const waiters: { match: (p: string | undefined) => boolean; resolve: () => void }[] = [];
  const stop = notifications.listen(channel, (payload) => {
    heard.push(payload);
    for (const w of waiters.splice(0)) (w.match(payload) ? w.resolve : () => waiters.push(w))();
  });
  const next = (match: (p: string | undefined) => boolean) => new Promise<void>((resolve) => waiters.push({ match, resolve }));
  return { heard, next, stop };
}

it('hears notifications, reconnects after its connection is killed, and says so to its listeners', async () => {
  const changes = recorder('test_changes');
  // Connected and listening: the listener is told once (undefined: read what you may have missed).
  await changes.next((p) => p === undefined);
  const first = changes.next((p) => p === 'one');
  await db.query(`SELECT pg_notify('test_changes', 'one')`);
  await first;

  const reconnected = changes.next((p) => p === undefined);
  const [killed] = await db.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
  );
  expect(killed!.n).toBe(1);
  await reconnected;
  const second = changes.next((p) => p === 'two');
  await db.query(`SELECT pg_notify('test_changes', 'two')`);
  await second;
  expect(changes.heard).toEqual([undefined, 'one', undefined, 'two']);
  changes.stop();
});
