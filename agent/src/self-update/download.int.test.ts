import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTerminal } from '../support/errors';
import { AgentDownloadError, downloadVerified } from './download';

// A real TCP server on 127.0.0.1 answering HTTP/1.1 by hand, so that a body can end without a
// length (Connection: close), as a proxy that cuts a download does.

const bundle = randomBytes(256 * 1024);
const target = () => ({
  url: `http://127.0.0.1:${port}/agent.js`,
  sha256: createHash('sha256').update(bundle).digest('hex'),
  size: bundle.length,
});
let body: Buffer;
let server: Server;
let port: number;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-agent-download-'));
  server = createServer((socket) => {
    socket.once('data', () => {
      socket.on('error', () => undefined);
      socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'), body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function attempt(): Promise<{ error: AgentDownloadError | undefined; file: string }> {
  const file = join(dir, `agent-${randomBytes(4).toString('hex')}.js`);
  const error = await downloadVerified(target(), file, undefined).then(
    () => undefined,
    (err: AgentDownloadError) => err,
  );
  return { error, file };
}

describe('downloadVerified (agent bundle)', () => {
  it("keeps the release's exact bytes", async () => {
    body = bundle;
    const { error, file } = await attempt();
    expect(error).toBeUndefined();
    expect(readFileSync(file).equals(bundle)).toBe(true);
  });

  it('a download cut short is tried again: not the end of this build', async () => {
    body = bundle.subarray(0, 1000);
    const { error, file } = await attempt();
    expect(error?.message).toMatch(/ended after 1000 of the release's 262144 bytes; will download again/);
    expect(isTerminal(error)).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('a longer body is not the release bundle: refused for good, not stored', async () => {
    body = Buffer.concat([bundle, randomBytes(64 * 1024)]);
    const { error, file } = await attempt();
    expect(error?.message).toMatch(/is larger than the 262144 bytes the release says/);
    expect(isTerminal(error)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('bytes of the right size with another digest (a swapped file, a man in the middle) are refused for good', async () => {
    body = randomBytes(bundle.length);
    const { error, file } = await attempt();
    expect(error?.message).toMatch(/has 262144 bytes with SHA-256 [0-9a-f]{64}, the release says 262144 bytes/);
    expect(isTerminal(error)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});
