import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpGet } from './http-get';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/json') {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="x"' });
      res.end(JSON.stringify({ seen: req.headers.accept }));
    } else if (req.url === '/slow') {
      res.writeHead(200);
      res.write('{"partial":');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('httpGet', () => {
  it('answers like fetch: status, ok, headers by any case, JSON body; sends the headers given', async () => {
    const res = await httpGet(`${base}/json`, { headers: { accept: 'application/x-test' } });
    expect(res).toMatchObject({ ok: false, status: 401 });
    expect(res.headers.get('WWW-Authenticate')).toBe('Basic realm="x"');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(await res.json()).toEqual({ seen: 'application/x-test' });
  });

  it('gives up when the signal fires, also in the middle of a body', async () => {
    const started = Date.now();
    await expect(httpGet(`${base}/slow`, { headers: {}, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
