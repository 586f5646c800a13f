import {
  MAX_PAYLOAD_BYTES,
  PROTOCOL_SCHEMA,
  TEXT_LIMITS,
  readSignedCommand,
  type CommandResult,
  type CommandResultView,
} from '@flotilla/shared';
import { MqttLink } from '../../agent/src/link/mqtt-link';
import { silentLogger } from '../../agent/src/support/logger';
import { startHarness, type Harness } from '../../control-plane/src/testing/harness';
import { apiClient, json, until, type Api } from '../../control-plane/src/testing/sim-fleet';

/**
 * The agent's MQTT link answering commands to the whole control plane (its broker over TCP, with
 * its packet size guard, and PostgreSQL): whatever a component wrote to its logs, the answer of
 * `logs` reaches the operator and the device stays connected.
 */
jest.setTimeout(30_000);

let h: Harness;
let api: Api;
let link: MqttLink | undefined;
let connects = 0;
/** What the device answers the next command with (the agent's `runCommand`, given a component's logs). */
let answer: (id: string) => CommandResult;

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
  const device = await h.registerDevice('chatty');
  link = new MqttLink({
    credential: { deviceId: device.deviceId, password: device.password, mqttUrl: h.cp.mqttUrl },
    logger: silentLogger,
    heldRev: () => 0,
    onDesired: () => undefined,
    onCommand: async (bytes) => {
      const read = readSignedCommand(bytes);
      return read.ok ? answer(read.statement.id) : undefined;
    },
    onConnect: () => connects++,
    reconnect: { baseMs: 100, capMs: 400, stableMs: 5_000, bootSpreadMs: 0 },
  });
  link.start();
  // onConnect comes once the link subscribed to its commands.
  await until(async () => connects === 1, 10_000, 'the link connected and subscribed');
  await until(async () => (await json<{ online: boolean }>(api(`/api/v1/devices/${device.deviceId}`))).online, 10_000, 'device online');
}, 60_000);

afterAll(async () => {
  await link?.stop();
  await h?.close();
});

const logs = async (deviceId: string) =>
  api(`/api/v1/devices/${deviceId}/commands`, {
    method: 'POST',
    body: JSON.stringify({ name: 'logs', args: { component: 'web' }, timeoutMs: 5_000 }),
  });

const deviceId = async () => (await h.db.query<{ id: string }>(`SELECT id FROM devices WHERE name = 'chatty'`))[0]!.id;

it('answers `logs` of a component writing coloured JSON lines: the newest lines that fit, and the device stays connected', async () => {
  // What `runCommand` passes on for `logs`: the end of the logs within its raw byte budget. Each
  // quote and colour escape takes more room once the result is JSON.
  const lines: string[] = [];
  for (let i = 0, size = 0; size < 240_000; i++) {
    const entry = { level: 'info', msg: `served "GET /items/${i}"`, tags: ['http', 'api', 'v1', 'ok'], status: 200, ms: i % 17 };
    const line = `2026-12-07T20:00:00.${String(i).padStart(9, '0')}Z \u001b[32mINFO\u001b[0m ${JSON.stringify(entry)}`;
    lines.push(line);
    size += line.length + 1;
  }
  const output = `${lines.join('\n')}\n`;
  expect(Buffer.byteLength(output)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES - 8 * 1024);
  expect(output.length).toBeLessThanOrEqual(TEXT_LIMITS.output);
  expect(Buffer.byteLength(JSON.stringify(output))).toBeGreaterThan(MAX_PAYLOAD_BYTES + 1024);
  answer = (id) => ({ schema: PROTOCOL_SCHEMA, id, ok: true, output });

  const id = await deviceId();
  const result = await json<CommandResultView>(logs(id), 200);
  expect(result.ok).toBe(true);
  expect(output.endsWith(result.output!)).toBe(true);
  expect(output[output.length - result.output!.length - 1]).toBe('\n');
  expect(result.output!.endsWith(`${lines.at(-1)}\n`)).toBe(true);
  expect(result.output!.length).toBeGreaterThan(output.length / 2);

  // A second command answered over the same connection: the first did not cost the device it.
  answer = (id) => ({ schema: PROTOCOL_SCHEMA, id, ok: true, output: 'quiet\n' });
  expect(await json<CommandResultView>(logs(id), 200)).toMatchObject({ ok: true, output: 'quiet\n' });
  expect(connects).toBe(1);
});

it('answers `logs` with a NUL or a lone surrogate in them, written as U+FFFD, instead of never answering', async () => {
  answer = (id) => ({ schema: PROTOCOL_SCHEMA, id, ok: true, output: 'binary \u0000 here\nhalf \ud83d a pair\n' });
  expect(await json<CommandResultView>(logs(await deviceId()), 200)).toMatchObject({
    ok: true,
    output: 'binary \ufffd here\nhalf \ufffd a pair\n',
  });
});
