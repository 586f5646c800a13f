import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../support/logger';
import { instantClock } from '../support/test-clock';
import { loadOrRegister } from './credentials';
import { ProvisioningFileError, RegistrationRejectedError, StateDirUnsafeError } from './errors';
import { MAX_PROVISIONING_BYTES } from './provisioning-file';

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

  it('removes the used token from the provisioning file once registered, keeping the rest, and a restart needs none', async () => {
    handlers.push(json(201, { deviceId: 'dev_3', password: 'r'.repeat(32), mqttUrl: 'mqtt://broker:1883', releaseKeys: serverKeys }));
    const before = JSON.parse(await readFile(options().provisioningPath, 'utf8')) as Record<string, unknown>;
    const { credential } = await loadOrRegister(options());
    const { token, ...rest } = before;
    expect(token).toBe('tok_0123456789abcdef');
    expect(JSON.parse(await readFile(options().provisioningPath, 'utf8'))).toEqual(rest);
    expect((await loadOrRegister(options())).credential).toEqual(credential);
    expect(requests).toHaveLength(1);
  });

  it('removes a token written to the provisioning file after the device registered', async () => {
    handlers.push(json(201, { deviceId: 'dev_4', password: 's'.repeat(32), mqttUrl: 'mqtt://broker:1883', releaseKeys: serverKeys }));
    await loadOrRegister(options());
    await writeProvisioning({ token: 'tok_written_again_later' });
    await loadOrRegister(options());
    expect(await readFile(options().provisioningPath, 'utf8')).not.toContain('tok_written_again_later');
  });

  it('says the token was used when a registered device lost its credential', async () => {
    handlers.push(json(201, { deviceId: 'dev_5', password: 't'.repeat(32), mqttUrl: 'mqtt://broker:1883', releaseKeys: serverKeys }));
    await loadOrRegister(options());
    await rm(join(dir, 'state', 'credential.json'));
    await expect(loadOrRegister(options())).rejects.toThrow(/holds no token \(the agent removes it once the device has registered\)/);
  });

  it.each([
    ['a file:// URL', 'file:///etc/passwd'],
    ['another scheme', 'ftp://127.0.0.1/'],
    ['user info, which would be logged with the URL', 'http://user:secret@127.0.0.1:9'],
    ['a query', 'http://127.0.0.1:9/?next=x'],
    ['a control character', 'http://127.0.0.1:9/\nx'],
  ])('refuses an apiUrl with %s for good, sending nothing', async (_case, url) => {
    await writeProvisioning({ apiUrl: url.replace('127.0.0.1:9', new URL(apiUrl).host) });
    const controller = new AbortController();
    const clock = instantClock();
    clock.sleep = () => Promise.resolve(controller.abort());
    await expect(loadOrRegister({ ...options(), clock, signal: controller.signal })).rejects.toBeInstanceOf(ProvisioningFileError);
    expect(requests).toEqual([]);
  });

  it('refuses an mqttUrl with user info', async () => {
    await writeProvisioning({ mqttUrl: 'mqtt://user:secret@127.0.0.1:1883' });
    await expect(loadOrRegister(options())).rejects.toBeInstanceOf(ProvisioningFileError);
    expect(requests).toEqual([]);
  });

  it('refuses a provisioning file larger than any real one, and one that is not a regular file', async () => {
    await writeFile(options().provisioningPath, ' '.repeat(MAX_PROVISIONING_BYTES) + '{}');
    await expect(loadOrRegister(options())).rejects.toThrow(/larger than 1048576 bytes/);
    await expect(loadOrRegister({ ...options(), provisioningPath: '/dev/zero' })).rejects.toThrow(/not a regular file/);
  });

  it('refuses a state dir that group or others may write, before believing a credential in it', async () => {
    const state = join(dir, 'state');
    await mkdir(state, { mode: 0o700 });
    await chmod(state, 0o777);
    const planted = {
      schema: 1,
      deviceId: 'dev_planted',
      password: 'x'.repeat(32),
      apiUrl: 'http://evil:1',
      mqttUrl: 'mqtt://evil:1',
      releaseKeys,
    };
    await writeFile(join(state, 'credential.json'), JSON.stringify(planted));
    const err = await loadOrRegister(options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateDirUnsafeError);
    expect((err as Error).message).toMatch(/group or others may write to it \(mode 0777\)/);
    await chmod(state, 0o755);
    expect((await loadOrRegister(options())).credential.deviceId).toBe('dev_planted');
  });

  it('makes secret files that others may read 0600 again before using them', async () => {
    const state = join(dir, 'state');
    await mkdir(state, { mode: 0o700 });
    const restored = {
      schema: 1,
      deviceId: 'dev_restored',
      password: 'y'.repeat(32),
      apiUrl,
      mqttUrl: 'mqtt://127.0.0.1:1883',
      releaseKeys,
    };
    await writeFile(join(state, 'credential.json'), JSON.stringify(restored), { mode: 0o644 });
    await writeFile(join(state, 'update-journal.json'), '{}', { mode: 0o640 });
    await writeFile(join(state, 'device-cert.pem'), 'public', { mode: 0o644 });
    expect((await loadOrRegister(options())).credential.deviceId).toBe('dev_restored');
    expect((await stat(join(state, 'credential.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(state, 'update-journal.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(state, 'device-cert.pem'))).mode & 0o777).toBe(0o644);
  });

  it('makes a missing state dir 0700', async () => {
    handlers.push(json(201, { deviceId: 'dev_6', password: 'u'.repeat(32), mqttUrl: 'mqtt://broker:1883', releaseKeys: serverKeys }));
    await loadOrRegister(options());
    expect((await stat(join(dir, 'state'))).mode & 0o777).toBe(0o700);
  });
});
