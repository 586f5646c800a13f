import { createServer, type Server } from 'node:http';
import { freePort } from '../../../../test/support/ports';
import { RabbitMqManagement } from './rabbitmq-management';

/**
 * Integration (real HTTP on 127.0.0.1): a call that fails on every node says which nodes, and how;
 * one that fails while a node does not answer names that node.
 */
let booting: Server;
let survivor: Server;
let bootingPort = 0;
let survivorPort = 0;

async function listen(handler: Parameters<typeof createServer>[1]): Promise<[Server, number]> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, (server.address() as { port: number }).port];
}

beforeAll(async () => {
  [booting, bootingPort] = await listen((_req, res) => {
    res.statusCode = 503;
    res.end('{"error":"node is booting"}');
  });
  // Answers for itself; a cluster-wide list fails (as one waiting on a member that does not answer would).
  [survivor, survivorPort] = await listen((req, res) => {
    if (req.url?.startsWith('/api/overview')) return res.end('{"node":"rabbit@survivor"}');
    res.statusCode = 500;
    res.end('{"error":"timeout"}');
  });
});
afterAll(async () => {
  for (const server of [booting, survivor]) await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('names every node that failed and how, never their passwords', async () => {
  const closed = await freePort();
  const management = new RabbitMqManagement(
    [`http://flotilla:s3cret@127.0.0.1:${closed}`, `http://flotilla:s3cret@127.0.0.1:${bootingPort}`],
    '/',
  );
  const error = await management.nodes().then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error?.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${closed}.*ECONNREFUSED`));
  expect(error?.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${bootingPort}.*answered 503.*node is booting`));
  expect(error?.message).not.toContain('s3cret');
});

it('shows a node that answers for itself, one that does not as down, and names the latter when a cluster-wide read fails', async () => {
  const closed = await freePort();
  const management = new RabbitMqManagement(
    [`http://flotilla:s3cret@127.0.0.1:${survivorPort}`, `http://flotilla:s3cret@127.0.0.1:${closed}`],
    '/',
  );
  const reading = await management.nodes();
  expect(reading.nodes).toEqual([
    { name: 'rabbit@survivor', running: true },
    { name: `127.0.0.1:${closed}`, running: false, unanswered: expect.stringContaining('ECONNREFUSED') },
  ]);
  expect(reading.membersUnknown).toMatch(/answered 500/);
  const error = await management.connectedUsers().then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error?.message).toMatch(new RegExp(`wait on a member that does not answer, http://flotilla:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/`));
  expect(error?.message).not.toContain('s3cret');
});
