import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../support/logger';
import { instantClock } from '../support/test-clock';
import { loadOrRegister } from './credentials';
import { ProvisioningFileError, RegistrationRejectedError } from './errors';

/** Integration: real files in a temp dir and a real HTTP server standing in for the control plane. */
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let dir: string;
let server: Server;
let apiUrl: string;
let handlers: Handler[];
let requests: { url: string; body: unknown }[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flotilla-cred-'));
  handlers = [];
  requests = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ url: req.url ?? '', body: JSON.parse(body || 'null') });
      const handler = handlers.shift();
      if (handler) handler(req, body, res);
      else res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await writeProvisioning({ apiUrl });
});

afterEach(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const releaseKeys = [
  { keyId: 'ed25519:0123456789abcdef', publicKey: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n' },
];

/** What the control plane says at registration; the device pins the provisioning file's keys instead. */
const serverKeys = [{ keyId: 'ed25519:fedcba9876543210', publicKey: '-----BEGIN PUBLIC KEY-----\nother\n-----END PUBLIC KEY-----\n' }];

async function writeProvisioning(overrides: Record<string, unknown>): Promise<void> {
  const file = {
    schema: 1,
    apiUrl,
    mqttUrl: 'mqtt://127.0.0.1:1883',
    token: 'tok_0123456789abcdef',
    name: 'kiosk-1',
    board: 'rpi4',
    releaseKeys,
    ...overrides,
  };
  await writeFile(join(dir, 'provisioning.json'), JSON.stringify(file));
}

function json(status: number, body: unknown): Handler {
  return (_req, _body, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const options = () => ({
  provisioningPath: join(dir, 'provisioning.json'),
  stateDir: join(dir, 'state'),
  clock: instantClock(),
  logger: silentLogger,
});

describe('loadOrRegister', () => {
  it('registers with the token, stores the credential 0600, and reuses it next time', async () => {
    handlers.push(json(201, { deviceId: 'dev_1', password: 'p'.repeat(32), mqttUrl: 'mqtt://broker:1883', releaseKeys: serverKeys }));
    const { credential } = await loadOrRegister(options());
    expect(credential).toEqual({
      schema: 1,
      deviceId: 'dev_1',
      password: 'p'.repeat(32),
      apiUrl,
      mqttUrl: 'mqtt://broker:1883',
      releaseKeys,
    });
    expect(requests).toEqual([
      { url: '/api/v1/devices/register', body: { token: 'tok_0123456789abcdef', name: 'kiosk-1', board: 'rpi4' } },
    ]);
    const path = join(dir, 'state', 'credential.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(credential);

    expect((await loadOrRegister(options())).credential).toEqual(credential);
    expect(requests).toHaveLength(1);
  });

  it('fails terminally with the server message when the token is refused', async () => {
    handlers.push(json(401, { statusCode: 401, code: 'token_invalid', message: 'provisioning token expired' }));
    const err = await loadOrRegister(options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistrationRejectedError);
    expect((err as Error).message).toContain('provisioning token expired');
    expect(requests).toHaveLength(1);
  });

  it('retries with growing backoff on server errors until it registers', async () => {
    handlers.push(
      json(503, { message: 'starting' }),
      json(502, {}),
      json(200, { deviceId: 'dev_2', password: 'q'.repeat(32), mqttUrl: '', releaseKeys: serverKeys }),
    );
    const opts = options();
    const { credential } = await loadOrRegister(opts);
    expect(credential.deviceId).toBe('dev_2');
    expect(credential.mqttUrl).toBe('mqtt://127.0.0.1:1883');
    expect((opts.clock as ReturnType<typeof instantClock>).slept).toEqual([1_000, 2_000]);
  });

  it('retries when the control plane is unreachable, and stops when aborted', async () => {
    await writeProvisioning({ apiUrl: 'http://127.0.0.1:9' });
    const controller = new AbortController();
    const clock = instantClock();
    const sleep = clock.sleep;
    clock.sleep = async (ms) => {
      await sleep(ms);
      if (clock.slept.length === 3) controller.abort();
    };
    await expect(loadOrRegister({ ...options(), clock, signal: controller.signal })).rejects.toMatchObject({
      code: 'registration-unavailable',
    });
    expect(clock.slept).toEqual([1_000, 2_000, 4_000]);
  });

  it('refuses a provisioning file that does not match the schema', async () => {
    await writeFile(join(dir, 'provisioning.json'), JSON.stringify({ schema: 1, apiUrl: 'not a url', token: 'short' }));
    await expect(loadOrRegister(options())).rejects.toBeInstanceOf(ProvisioningFileError);
  });

  it('refuses a missing provisioning file with its path', async () => {
    await expect(loadOrRegister({ ...options(), provisioningPath: join(dir, 'nope.json') })).rejects.toThrow(/nope\.json/);
  });
});
