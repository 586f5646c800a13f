import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import Docker from 'dockerode';
import { connectAsync, type MqttClient } from 'mqtt';
import { deviceTopic, minimalComponent, type Desired, type DeviceEvent, type LocalStatus } from '@flotilla/shared';
import { sealedDesired, signedDesired, testSigner } from '../../agent/src/testing/releases';
import { AgentProcess } from '../support/agent-process';
import { waitFor } from '../support/wait';
import { testImages } from '../setup/services';

/**
 * End to end: the real agent process, pointed at an MQTT broker the test runs (aedes on
 * loopback TCP) instead of the control plane. Whoever controls that broker can send anything;
 * only what the pinned key signed for this device, fresh and newer, may move the device. The
 * assembly the agent runs is checked through the Docker Engine before and after the attack.
 */
jest.setTimeout(120_000);

const docker = new Docker();
const run = randomBytes(3).toString('hex');
const DEVICE = `dev_rogue_${run}`;
const PASSWORD = 'rogue-broker-device-password-0123';
const scope = `rogue${run}`;
const genuine = testSigner();

let broker: Aedes;
let server: Server;
let rogue: MqttClient;
let agent: AgentProcess | undefined;
let workDir: string;
const events: DeviceEvent[] = [];
let asked = 0;

beforeAll(async () => {
  broker = await Aedes.createBroker();
  broker.authenticate = (client, _username, password, done) => done(null, client.id !== DEVICE || password?.toString() === PASSWORD);
  server = createServer((socket) => broker.handle(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rogue = await connectAsync(url, { protocolVersion: 4, clientId: `rogue-${run}` });
  await rogue.subscribeAsync([deviceTopic(DEVICE, 'events'), deviceTopic(DEVICE, 'desired/get')], { qos: 1 });
  rogue.on('message', (topic, payload) => {
    if (topic === deviceTopic(DEVICE, 'desired/get')) asked++;
    else events.push(JSON.parse(payload.toString()) as DeviceEvent);
  });

  // The device was provisioned long ago: it holds its credential and pins the genuine key.
  workDir = mkdtempSync(join(tmpdir(), 'flotilla-rogue-'));
  mkdirSync(join(workDir, 'state'));
  const credential = {
    schema: 1,
    deviceId: DEVICE,
    password: PASSWORD,
    apiUrl: 'http://127.0.0.1:9',
    mqttUrl: url,
    releaseKeys: [genuine.key],
  };
  writeFileSync(join(workDir, 'state', 'credential.json'), JSON.stringify(credential));
  agent = new AgentProcess({
    FLOTILLA_PROVISIONING: join(workDir, 'provisioning.json'),
    FLOTILLA_STATE_DIR: join(workDir, 'state'),
    FLOTILLA_STATUS_DIR: join(workDir, 'run'),
    FLOTILLA_SCOPE_LABEL: `io.flotilla.scope=${scope}`,
    FLOTILLA_REPORT_INTERVAL_MS: '1000',
  });
});

afterAll(async () => {
  await agent?.dispose();
  await rogue?.endAsync(true);
  if (broker) await new Promise<void>((r) => broker.close(() => r()));
  if (server) await new Promise((r) => server.close(r));
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function scoped(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.flotilla.scope=${scope}`] } });
}

function release(rev: number, greeting: string): Desired {
  const web = minimalComponent('web', testImages().busybox, { command: ['sleep', '3600'], environment: { GREETING: greeting } });
  return signedDesired(genuine, rev, [web], { name: `rogue${run}` });
}

async function deliver(payload: string): Promise<void> {
  await rogue.publishAsync(deviceTopic(DEVICE, 'desired'), payload, { qos: 1 });
}

function status(): LocalStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(workDir, 'run', 'status.json'), 'utf8')) as LocalStatus;
  } catch {
    return undefined;
  }
}

async function committed(rev: number): Promise<void> {
  await withLogs(waitFor(`rev ${rev} committed`, async () => events.find((e) => e.kind === 'update-committed' && e.rev === rev), 60_000));
}

/** A red test shows what the agent said. */
function withLogs<T>(waiting: Promise<T>): Promise<T> {
  return waiting.catch((err: Error) => {
    throw new Error(`${err.message}\nagent logs:\n${agent!.logs.slice(-3_000)}`);
  });
}

describe('an agent behind a rogue broker', () => {
  it('refuses every unsigned, foreign, forged, stale or replayed desired, keeps its assembly, and still takes a genuine one', async () => {
    await withLogs(waitFor('the agent to ask for its desired state', async () => (asked > 0 ? true : undefined), 30_000));
    const rev1 = sealedDesired(genuine, DEVICE, release(1, 'one'));
    await deliver(rev1);
    await committed(1);
    await deliver(sealedDesired(genuine, DEVICE, release(2, 'two')));
    await committed(2);
    const before = (await scoped()).map((c) => ({ id: c.Id, state: c.State }));
    expect(before).toEqual([{ id: expect.any(String), state: 'running' }]);

    const stranger = testSigner();
    const wipe: Desired = { schema: 1, rev: 2 ** 53 - 1, release: null, config: {} };
    const sealed1 = JSON.parse(rev1) as { statement: string };
    const attacks: [string, string][] = [
      ['unsigned', JSON.stringify(release(2 ** 53 - 1, 'unsigned'))],
      ['unsigned', JSON.stringify(wipe)],
      ['unknown-key', sealedDesired(stranger, DEVICE, release(3, 'stranger'))],
      ['forged', sealedDesired(genuine, DEVICE, wipe).replace(/"value":"[^"]+"/, `"value":"${'A'.repeat(86)}=="`)],
      ['replayed', rev1],
      ['forged', JSON.stringify({ ...JSON.parse(rev1), statement: sealed1.statement.replace('"rev":1,', '"rev":99,') })],
      ['stale', sealedDesired(genuine, DEVICE, release(3, 'stale'), { expiresAt: new Date(Date.now() - 1_000).toISOString() })],
      ['wrong-device', sealedDesired(genuine, 'dev_someone_else', release(3, 'elsewhere'))],
    ];
    for (const [code, payload] of attacks) {
      const seen = events.length;
      await deliver(payload);
      const refusal = await waitFor(`a desired-refused event (${code})`, async () =>
        events.slice(seen).find((e) => e.kind === 'desired-refused'),
      );
      expect(refusal.message).toMatch(new RegExp(`^${code}: `));
    }

    expect((await scoped()).map((c) => ({ id: c.Id, state: c.State }))).toEqual(before);
    await waitFor('status written', async () => (status()?.update.phase === 'idle' ? true : undefined));
    expect(status()).toMatchObject({ rev: 2, update: { phase: 'idle', failedRev: null, active: { rev: 2 } } });
    expect(events.filter((e) => e.kind === 'update-phase' && (e.rev ?? 0) > 2)).toEqual([]);

    // The forged rev 2^53-1 left nothing behind: the next genuine rev is applied.
    await deliver(sealedDesired(genuine, DEVICE, release(3, 'three')));
    await committed(3);
    const after = await scoped();
    expect(after.map((c) => c.State)).toEqual(['running']);
    expect(after[0]!.Id).not.toBe(before[0]!.id);
  });
});
