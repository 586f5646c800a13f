import {
  PROTOCOL_SCHEMA,
  deviceTopic,
  readSignedCommand,
  verifyCommandSignature,
  type ApiError,
  type AuditEntryView,
  type CommandResultView,
  type CreatedOperatorKey,
  type Page,
  type SigningKeysView,
} from '@flotilla/shared';
import { nextMessage, startHarness, type Harness } from '../testing/harness';
import { SimDevice } from '../testing/sim-device';
import { apiClient, json, registerDevices, until, type Api } from '../testing/sim-fleet';

jest.setTimeout(30_000);

let h: Harness;
let api: Api;
const sims: SimDevice[] = [];

beforeAll(async () => {
  h = await startHarness();
  api = apiClient(() => h.cp.httpUrl, h.cp.apiKey);
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  await h?.close();
});

async function simulated(onCommand?: ConstructorParameters<typeof SimDevice>[0]['onCommand']): Promise<SimDevice> {
  const [d] = await registerDevices(api, 1);
  const sim = await new SimDevice({
    mqttUrl: h.cp.mqttUrl,
    deviceId: d!.deviceId,
    password: d!.password,
    ...(onCommand ? { onCommand } : {}),
  }).start();
  sims.push(sim);
  await until(async () => (await json<{ online: boolean }>(api(`/api/v1/devices/${sim.deviceId}`))).online, 5000, 'online');
  return sim;
}

function send(deviceId: string, body: object): Promise<Response> {
  return api(`/api/v1/devices/${deviceId}/commands`, { method: 'POST', body: JSON.stringify(body) });
}

describe('commands', () => {
  it('round-trips a command with a simulated device over MQTT', async () => {
    const sim = await simulated((c) => ({ ok: true, output: `${c.name} ${JSON.stringify(c.args)}` }));
    const result = await json<CommandResultView>(send(sim.deviceId, { name: 'logs', args: { component: 'web', lines: '10' } }), 200);
    expect(result).toMatchObject({
      deviceId: sim.deviceId,
      name: 'logs',
      ok: true,
      output: 'logs {"component":"web","lines":"10"}',
      error: null,
    });
    expect(result.id).toMatch(/^cmd_/);
  });

  it("keeps a command's output out of the audit log, which every key reads: a component's logs are for operators", async () => {
    const sim = await simulated(() => ({ ok: true, output: 'connecting to postgres://app:hunter2@db/app' }));
    const result = await json<CommandResultView>(send(sim.deviceId, { name: 'logs', args: { component: 'web' } }), 200);
    expect(result.output).toContain('hunter2');
    const viewer = await json<CreatedOperatorKey>(
      api('/api/v1/operators/keys', { method: 'POST', body: JSON.stringify({ name: 'reader', role: 'viewer' }) }),
      201,
    );
    // A viewer may not ask for logs itself.
    const asked = await api(`/api/v1/devices/${sim.deviceId}/commands`, { method: 'POST', key: viewer.key, body: '{"name":"logs"}' });
    expect(asked.status).toBe(403);
    const page = await json<Page<AuditEntryView>>(
      api(`/api/v1/audit?${new URLSearchParams({ target: sim.deviceId })}`, { key: viewer.key }),
      200,
    );
    const entries = page.items.filter((e) => e.action === 'POST /api/v1/devices/:id/commands');
    expect(entries.map((e) => e.after)).toEqual([expect.objectContaining({ name: 'logs', ok: true, output: '[not kept]' })]);
    expect(JSON.stringify(await h.db.query('SELECT after FROM audit_log'))).not.toContain('hunter2');
  });

  it("passes on a device's failure as ok: false", async () => {
    const sim = await simulated(() => ({ ok: false, error: 'no such component' }));
    expect(await json(send(sim.deviceId, { name: 'restart-component', args: { component: 'nope' } }), 200)).toMatchObject({
      ok: false,
      error: 'no such component',
    });
  });

  it('answers 504 when the device does not answer in time', async () => {
    const sim = await simulated(() => undefined);
    const started = Date.now();
    const res = await send(sim.deviceId, { name: 'reboot', timeoutMs: 300 });
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject<Partial<ApiError>>({ code: 'command_timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers 409 for an offline device, 404 for an unknown one, 400 for an unknown command', async () => {
    const [offline] = await registerDevices(api, 1);
    expect((await send(offline!.deviceId, { name: 'identify' })).status).toBe(409);
    expect((await send('dev_nosuchdevice', { name: 'identify' })).status).toBe(404);
    const sim = await simulated();
    const bad = await send(sim.deviceId, { name: 'format-disk' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ issues: [expect.objectContaining({ path: 'name' })] });
  });

  it('signs each command for its device with the current key, valid as long as the caller waits for it', async () => {
    const device = await h.registerDevice('signed-commands');
    const client = await h.connectDevice(device);
    await client.subscribeAsync(deviceTopic(device.deviceId, 'cmd'), { qos: 1 });
    await client.publishAsync(deviceTopic(device.deviceId, 'status'), JSON.stringify({ schema: PROTOCOL_SCHEMA, status: 'online' }), {
      qos: 1,
    });
    await until(async () => (await json<{ online: boolean }>(api(`/api/v1/devices/${device.deviceId}`))).online, 5000, 'online');
    const arriving = nextMessage(client, deviceTopic(device.deviceId, 'cmd'));
    expect((await send(device.deviceId, { name: 'logs', args: { component: 'web' }, timeoutMs: 300 })).status).toBe(504);
    const read = readSignedCommand((await arriving).payload);
    if (!read.ok) throw new Error(read.reason);
    const { keys } = await json<SigningKeysView>(api('/api/v1/signing-keys'));
    expect(verifyCommandSignature(read.envelope, keys)).toEqual({ ok: true, keyId: keys[0]!.keyId });
    expect(read.statement).toMatchObject({ name: 'logs', args: { component: 'web' }, deviceId: device.deviceId });
    expect(Date.parse(read.statement.expiresAt) - Date.parse(read.statement.issuedAt)).toBe(300);
  });

  it('names the rev on trial in a rollback, and refuses a rollback when the device reports none', async () => {
    const device = await h.registerDevice('rollback-rev');
    const client = await h.connectDevice(device);
    await client.subscribeAsync(deviceTopic(device.deviceId, 'cmd'), { qos: 1 });
    const report = async (candidate: { rev: number; releaseId: null; version: null } | null) => {
      const update = { phase: candidate ? 'probation' : 'idle', active: null, candidate, failedRev: null, lastFailure: null };
      const reported = { schema: PROTOCOL_SCHEMA, at: new Date().toISOString(), agentVersion: 'test', rev: 3, update, components: [] };
      await client.publishAsync(deviceTopic(device.deviceId, 'reported'), JSON.stringify(reported), { qos: 1 });
    };
    await report(null);
    await until(
      async () => (await json<{ online: boolean; reported: unknown }>(api(`/api/v1/devices/${device.deviceId}`))).reported !== null,
      5000,
      'reported',
    );
    const refused = await send(device.deviceId, { name: 'rollback' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'nothing_on_trial', message: expect.stringContaining('update phase: idle') });

    await report({ rev: 3, releaseId: null, version: null });
    await until(
      async () =>
        (await json<{ reported: { update: { candidate: unknown } } }>(api(`/api/v1/devices/${device.deviceId}`))).reported.update
          .candidate !== null,
      5000,
      'candidate reported',
    );
    const arriving = nextMessage(client, deviceTopic(device.deviceId, 'cmd'));
    expect((await send(device.deviceId, { name: 'rollback', timeoutMs: 300 })).status).toBe(504);
    const read = readSignedCommand((await arriving).payload);
    expect(read).toMatchObject({ ok: true, statement: { name: 'rollback', args: { rev: '3' } } });
  });
});
