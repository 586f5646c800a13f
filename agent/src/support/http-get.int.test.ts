import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeTestTls, type TestTls } from '../../../test/support/test-tls';
import { PinnedCaMissingError } from '../provisioning/errors';
import { HttpGetError, openGet, pinnedHttpGet, readSmallBody } from './http-get';

// node:http(s) GETs as the agent makes them, against real HTTP and HTTPS servers on 127.0.0.1
// with certificates made for this run: pinned trust, redirects, stalls and back-pressure.

const BIG = 64 * 1024 * 1024;
let tls: TestTls;
let trusted: Server;
let stranger: Server;
let plain: Server;
let produced = 0; // bytes of /big handed to the socket so far

function handler(base: () => string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/json') {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="x"' });
      res.end(JSON.stringify({ seen: req.headers.accept }));
    } else if (req.url === '/stall') {
      res.writeHead(200);
      res.write('{"partial":'); // and nothing more
    } else if (req.url === '/cut') {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('x'.repeat(10), () => res.destroy());
    } else if (req.url === '/redirect') {
      res.writeHead(302, { location: '/json' }).end();
    } else if (req.url === '/downgrade') {
      res.writeHead(302, { location: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/json` }).end();
    } else if (req.url === '/big') {
      res.writeHead(200, { 'content-length': String(BIG) });
      const chunk = Buffer.alloc(1024 * 1024, 7);
      void pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < BIG / chunk.length; i++) {
              produced += chunk.length;
              yield chunk;
            }
          })(),
        ),
        res,
      ).catch(() => undefined);
    } else {
      res.writeHead(404).end(base());
    }
  };
}

const url = (server: Server, path: string, scheme = 'https') => `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

beforeAll(async () => {
  tls = await makeTestTls();
  trusted = createHttpsServer(
    { key: tls.server.keyPem, cert: tls.server.certPem },
    handler(() => 'trusted'),
  );
  stranger = createHttpsServer(
    { key: tls.stranger.keyPem, cert: tls.stranger.certPem },
    handler(() => 'stranger'),
  );
  plain = createHttpServer(handler(() => 'plain'));
  for (const s of [trusted, stranger, plain]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  for (const s of [trusted, stranger, plain]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

describe('pinnedHttpGet (registry facts and logins)', () => {
  it('answers like fetch over https to a server of the pinned CA: status, ok, headers by any case, JSON body', async () => {
    const res = await pinnedHttpGet([tls.caPem])(url(trusted, '/json'), { headers: { accept: 'application/x-test' } });
    expect(res).toMatchObject({ ok: false, status: 401 });
    expect(res.headers.get('WWW-Authenticate')).toBe('Basic realm="x"');
    expect(res.headers.get('x-absent')).toBeNull();
    expect(await res.json()).toEqual({ seen: 'application/x-test' });
  });

  it('gives up when the signal fires, also in the middle of a body', async () => {
    const started = Date.now();
    await expect(
      pinnedHttpGet(undefined)(url(plain, '/stall', 'http'), { headers: {}, signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('openGet', () => {
  it('refuses a server whose certificate chains to another CA, with an error that names the provisioning file', async () => {
    const err = await openGet(url(stranger, '/json'), { ca: [tls.caPem] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpGetError);
    expect((err as Error).message).toMatch(/not trusted.*caCertificates of its provisioning file/);
  });

  it('trusts no system CA: https with nothing pinned is refused before connecting', async () => {
    await expect(openGet(url(trusted, '/json'))).rejects.toBeInstanceOf(PinnedCaMissingError);
  });

  it('follows redirects when asked, never from https down to http', async () => {
    const res = await openGet(url(trusted, '/redirect'), { ca: [tls.caPem], maxRedirects: 2 });
    expect(res.statusCode).toBe(401);
    res.resume();
    const notFollowed = await openGet(url(trusted, '/redirect'), { ca: [tls.caPem] });
    expect(notFollowed.statusCode).toBe(302);
    notFollowed.resume();
    await expect(openGet(url(trusted, '/downgrade'), { ca: [tls.caPem], maxRedirects: 2 })).rejects.toThrow(
      /redirected from https to http:.*refused/,
    );
  });

  it('fails a body that stalls, and one cut off early, with a typed error', async () => {
    const stalled = await openGet(url(trusted, '/stall'), { ca: [tls.caPem], idleTimeoutMs: 300 });
    await expect(readSmallBody(stalled, 'stall')).rejects.toThrow(/no data for 0.3 s/);
    const cut = await openGet(url(trusted, '/cut'), { ca: [tls.caPem] });
    await expect(readSmallBody(cut, 'cut')).rejects.toThrow();
  });

  // The barrier alone may take 20 s on a loaded machine.
  it('streams with back-pressure: a reader that stops holds the server back, and then gets every byte', async () => {
    produced = 0;
    const res = await openGet(url(trusted, '/big'), { ca: [tls.caPem] });
    // Not reading: the server can only fill the socket buffers. Barrier: its count stops moving.
    let last = -1;
    for (let i = 0; i < 100 && produced !== last; i++) {
      last = produced;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(produced).toBe(last);
    expect(produced).toBeLessThan(BIG / 3);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of res) {
      received += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    expect(received).toBe(BIG);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(BIG, 7)).digest('hex'));
  }, 60_000);
});
