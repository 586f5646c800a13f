import { createServer, type Server } from 'node:http';
import { freePort } from '../../../../test/support/ports';
import { RabbitMqManagement } from './rabbitmq-management';

/** Integration (real HTTP on 127.0.0.1): a call that fails on every node says which nodes, and how. */
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end('{"error":"node is booting"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('names every node that failed and how, never their passwords', async () => {
  const closed = await freePort();
  const management = new RabbitMqManagement(
    [`http://flotilla:s3cret@127.0.0.1:${closed}`, `http://flotilla:s3cret@127.0.0.1:${port}`],
    '/',
  );
  const error = await management.nodes().then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error?.message).toContain(`127.0.0.1:${closed}`);
  expect(error?.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*answered 503.*node is booting`));
  expect(error?.message).not.toContain('s3cret');
});
