import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FleetView, OsStatus, ReleaseView, RolloutView } from '@flotilla/shared';
import { startControlPlane, type RunningControlPlane } from '../../../control-plane/src/bootstrap';
import { run } from '../../../cli/src/main';
import { SimDevice } from '../../../control-plane/src/testing/sim-device';
import { apiClient, json, manifest, publishRelease, registerDevices, type Api } from '../../../control-plane/src/testing/sim-fleet';
import { createTestDatabase, type TestDatabase } from '../../../control-plane/src/testing/test-database';
import { waitFor } from '../../support/wait';

/**
 * The real `flotilla` binary (cli/bin/flotilla.js, running cli/dist/ built by `npm run build`) against
 * a control plane started in this process, with simulated devices over real MQTT.
 */
jest.setTimeout(90_000);

const BIN = resolve(__dirname, '..', '..', '..', 'cli', 'bin', 'flotilla.js');
const KEY = `cli-test-${randomUUID()}`;
let db: TestDatabase;
let dir: string;
let cp: RunningControlPlane;
let api: Api;
const sims: SimDevice[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function flotilla(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: { PATH: process.env.PATH, HOME: join(dir, 'home'), FLOTILLA_API: cp.httpUrl, FLOTILLA_API_KEY: KEY, ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

async function startDevices(
  count: number,
  prefix: string,
  behavior: 'commit' | 'rollback' | 'hang' = 'commit',
  os?: OsStatus,
): Promise<SimDevice[]> {
  const registered = await registerDevices(api, count, prefix);
  const started = await Promise.all(
    registered.map((d) =>
      new SimDevice({
        mqttUrl: cp.mqttUrl,
        deviceId: d.deviceId,
        password: d.password,
        behavior: () => behavior,
        updateMs: 300,
        os,
      }).start(),
    ),
  );
  sims.push(...started);
  return started;
}

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'flotilla-cli-'));
  cp = await startControlPlane({ host: '127.0.0.1', port: 0, mqttPort: 0, databaseUrl: db.url, dataDir: join(dir, 'cp'), apiKey: KEY });
  api = apiClient(() => cp.httpUrl, KEY);
});

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
  await cp?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('flotilla CLI', () => {
  it('exits 2 on usage errors, 4 without a valid key, and says what to do', async () => {
    expect((await flotilla([])).code).toBe(2);
    const unknown = await flotilla(['devices', 'ls', '--colour']);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('unknown option --colour')]);
    const none = await flotilla(['devices', 'ls'], { FLOTILLA_API_KEY: undefined });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('flotilla login --key KEY');
    const wrong = await flotilla(['fleets', 'ls'], { FLOTILLA_API_KEY: 'fok_wrong' });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toContain('FLOTILLA_API_KEY');
    const down = await flotilla(['fleets', 'ls'], { FLOTILLA_API: 'http://127.0.0.1:9' });
    expect([down.code, down.stderr]).toEqual([1, expect.stringContaining('cannot reach the control plane')]);
  });

  it('logs in: checks the key, saves it 0600, and later commands use it', async () => {
    expect((await flotilla(['login', '--key', 'fok_wrong'], { FLOTILLA_API_KEY: undefined })).code).toBe(4);
    const ok = await flotilla(['login', '--key', KEY, '--api', cp.httpUrl], { FLOTILLA_API_KEY: undefined, FLOTILLA_API: undefined });
    expect(ok.code).toBe(0);
    const file = join(dir, 'home', '.config', 'flotilla', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const listed = await flotilla(['fleets', 'ls', '--json'], { FLOTILLA_API_KEY: undefined, FLOTILLA_API: undefined });
    expect([listed.code, JSON.parse(listed.stdout)]).toEqual([0, []]);
  });

  it('keeps registry logins: the password from stdin only, never shown again', async () => {
    const missing = await flotilla(['registries', 'set', '127.0.0.1:5001', '--username', 'ci']);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringContaining('--password-stdin')]);
    const set = await flotilla(['registries', 'set', '127.0.0.1:5001', '-u', 'ci', '--password-stdin'], {}, 's3cret-pass\n');
    expect([set.code, set.stdout]).toEqual([0, expect.stringContaining('127.0.0.1:5001: login of ci saved')]);
    const ls = await flotilla(['registries', 'ls', '--json']);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ registry: '127.0.0.1:5001', username: 'ci' })]);
    expect(ls.stdout).not.toContain('s3cret');
    const fleet = await json<FleetView>(api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'pullers' }) }), 201);
    const grant = await flotilla(['registries', 'grant', '127.0.0.1:5001', fleet.id]);
    expect([grant.code, grant.stdout]).toEqual([0, expect.stringContaining(`granted to 1 fleet(s): ${fleet.id}`)]);
    expect((await flotilla(['registries', 'revoke', '127.0.0.1:5001', fleet.id])).code).toBe(0);
    expect((await flotilla(['registries', 'revoke', '127.0.0.1:5001', fleet.id])).code).toBe(3);
    const marked = await flotilla(['registries', 'token-auth', '127.0.0.1:5002', '--ttl', '120']);
    expect([marked.code, marked.stdout]).toEqual([0, expect.stringContaining('127.0.0.1:5002: devices get 120 s pull tokens')]);
    expect(marked.stdout).toContain('BEGIN CERTIFICATE');
    expect((await flotilla(['registries', 'rm', '127.0.0.1:5001'])).code).toBe(0);
    expect((await flotilla(['registries', 'rm', '127.0.0.1:5001'])).code).toBe(3);
    expect(JSON.parse((await flotilla(['registries', 'ls', '--json'])).stdout)).toEqual([]);
  });

  it('lists, shows and commands devices; an unknown device exits 3', async () => {
    const fleet = await json<FleetView>(api('/api/v1/fleets', { method: 'POST', body: JSON.stringify({ name: 'lobby' }) }), 201);
    const [kiosk] = await startDevices(2, 'kiosk', 'commit', {
      version: '2.0.0',
      slot: 'B',
      inTrial: true,
      phase: 'trial',
      target: '2.0.0',
      lastFailure: null,
    });
    await json(api(`/api/v1/devices/${kiosk!.deviceId}/fleet`, { method: 'PUT', body: JSON.stringify({ fleetId: fleet.id }) }), 200);
    const ls = await flotilla(['devices', 'ls', '--json', '--search', 'kiosk']);
    expect(ls.code).toBe(0);
    const page = JSON.parse(ls.stdout) as { total: number; items: { name: string; online: boolean }[] };
    expect(page.total).toBe(2);
    expect(page.items.map((d) => [d.name, d.online])).toEqual([
      ['kiosk-0', true],
      ['kiosk-1', true],
    ]);
    const inFleet = await flotilla(['devices', 'ls', '--fleet', 'lobby']);
    expect(inFleet.stdout).toContain(kiosk!.deviceId);
    expect(inFleet.stdout.trim().split('\n')).toHaveLength(2);
    const show = await flotilla(['devices', 'show', 'kiosk-0']);
    expect([show.code, show.stdout]).toEqual([0, expect.stringContaining(`id          ${kiosk!.deviceId}`)]);
    await waitFor(
      'the kiosk to report',
      async () => ((await flotilla(['devices', 'show', 'kiosk-0'])).stdout.includes('os ') ? true : undefined),
      10_000,
    );
    expect((await flotilla(['devices', 'show', 'kiosk-0'])).stdout).toContain('os          2.0.0 on slot B (trial boot); trial → 2.0.0');
    expect((await flotilla(['devices', 'show', 'no-such-device'])).code).toBe(3);
    expect((await flotilla(['devices', 'show', 'dev_aaaaaaaaaaaaaaaaaaaaaaaaaa'])).code).toBe(3);
    const reboot = await flotilla(['devices', 'reboot', kiosk!.deviceId]);
    expect([reboot.code, reboot.stdout.trim()]).toEqual([0, 'kiosk-0: reboot reboot done']);
    const logs = await flotilla(['devices', 'logs', 'kiosk-0', 'web']);
    expect([logs.code, logs.stdout.trim()]).toEqual([0, 'logs done']);
    const fleets = await flotilla(['fleets', 'show', 'lobby', '--json']);
    expect(JSON.parse(fleets.stdout)).toMatchObject({ name: 'lobby', deviceCount: 1 });
  });

  it("shows a device's name as text: the terminal controls in it are written out, not acted on", async () => {
    const name = 'evil\x1b]0;owned\x07\x1b[2J\rfake\u202e-name';
    const token = await json<{ token: string }>(api('/api/v1/provisioning-tokens', { method: 'POST', body: '{}' }), 201);
    const device = await json<{ deviceId: string }>(
      api('/api/v1/devices/register', { method: 'POST', key: null, body: JSON.stringify({ token: token.token, name }) }),
      201,
    );
    const shown = await flotilla(['devices', 'show', device.deviceId]);
    const listed = await flotilla(['devices', 'ls', '--search', 'evil']);
    const asJson = await flotilla(['devices', 'show', device.deviceId, '--json']);
    // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
    for (const out of [shown.stdout, listed.stdout, asJson.stdout]) expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    expect(shown.stdout).toContain('evil\\u001b]0;owned\\u0007\\u001b[2J\\u000dfake\\u202e-name');
    expect((JSON.parse(asJson.stdout) as { name: string }).name).toBe(name);
  });

  it('pushes releases (an invalid one shows each issue at its path), lists and diffs them', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'name: origin\nx-flotilla: { version: 9.0.0 }\nservices:\n  web:\n    image: 42\n');
    const refused = await flotilla(['releases', 'push', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/bad\.yaml: services\.web\.image: /);
    expect((await flotilla(['releases', 'push', join(dir, 'missing.yaml')])).code).toBe(2);
    for (const v of ['1.0.0', '1.1.0']) {
      const file = join(dir, `${v}.yaml`);
      await writeFile(file, manifest(v, v === '1.0.0' ? undefined : `127.0.0.1:5000/flotilla/busybox@sha256:${'c'.repeat(64)}`));
      const pushed = await flotilla(['releases', 'push', file]);
      expect([pushed.code, pushed.stdout]).toEqual([0, expect.stringContaining(`published origin ${v}`)]);
    }
    const ls = JSON.parse((await flotilla(['releases', 'ls', '--json'])).stdout) as ReleaseView[];
    expect(ls.map((r) => r.version).sort()).toEqual(['1.0.0', '1.1.0']);
    const diff = await flotilla(['releases', 'diff', '1.0.0', 'origin@1.1.0']);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('origin 1.0.0 -> origin 1.1.0');
    expect(diff.stdout).toContain('~ web (image)');
    expect((await flotilla(['releases', 'diff', '1.0.0', '7.7.7'])).code).toBe(3);
  });

  it('plans a rollout, creates it and watches it to completion (exit 0)', async () => {
    const devices = await startDevices(3, 'shelf');
    const selection = devices.flatMap((d) => ['--device', d.deviceId]);
    const plan = await flotilla([
      'rollouts',
      'plan',
      '--release',
      '1.1.0',
      ...selection,
      '--phase',
      'canary:1:abort',
      '--phase',
      'rest:100%',
    ]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('3 devices to 1.1.0');
    expect(plan.stdout).toContain('phase 1 canary: 1 devices');
    const watched = await flotilla([
      'rollouts',
      'create',
      '--release',
      '1.1.0',
      ...selection,
      '--phase',
      'canary:1:abort',
      '--phase',
      'rest:100%',
      '--watch',
      '--interval',
      '200',
    ]);
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^started rollout [0-9a-f-]{36} .* on 3 devices$/);
    expect(lines.at(-1)).toBe('completed phase 2/2 3/3 ok');
    const ls = JSON.parse((await flotilla(['rollouts', 'ls', '--json'])).stdout) as RolloutView[];
    expect(ls[0]!.status).toBe('completed');
    // On a terminal, watch draws one progress bar per phase and redraws them in place.
    let drawn = '';
    const code = await run(
      ['rollouts', 'watch', ls[0]!.id],
      { FLOTILLA_API: cp.httpUrl, FLOTILLA_API_KEY: KEY, HOME: join(dir, 'home') },
      {
        out: () => undefined,
        err: () => undefined,
        write: (text) => (drawn += text),
        isTTY: true,
      },
    );
    expect(code).toBe(0);
    expect(drawn).toContain('\x1b[2K  1. canary          [##############################] 1/1 ok');
    expect(drawn).toContain('total              [##############################] 3/3 ok');
  });

  it('watches a canary that rolls back: exit 5 with the reason', async () => {
    const [canary] = await startDevices(1, 'canary', 'rollback');
    const release = await publishRelease(api, '2.0.0');
    const created = await flotilla([
      'rollouts',
      'create',
      '--json',
      '--release',
      release.id,
      '--device',
      canary!.deviceId,
      '--phase',
      'canary:1:abort',
    ]);
    const rollout = JSON.parse(created.stdout) as RolloutView;
    const watched = await flotilla(['rollouts', 'watch', rollout.id, '--interval', '200']);
    expect(watched.code).toBe(5);
    expect(watched.stdout.trim().split('\n').at(-1)).toMatch(/^aborted .*1 failed - .*unhealthy/);
  });

  it('pauses, resumes and aborts a rollout', async () => {
    const [slow] = await startDevices(1, 'slow', 'hang');
    const release = await publishRelease(api, '3.0.0');
    const created = JSON.parse(
      (await flotilla(['rollouts', 'create', '--json', '--release', release.id, '--device', slow!.deviceId])).stdout,
    ) as RolloutView;
    for (const [command, status] of [
      ['pause', 'paused'],
      ['resume', 'running'],
      ['abort', 'aborted'],
    ] as const) {
      const r = await flotilla(['rollouts', command, created.id, '--json']);
      expect([command, r.code, (JSON.parse(r.stdout) as RolloutView).status]).toEqual([command, 0, status]);
    }
    const again = await flotilla(['rollouts', 'resume', created.id]);
    expect(again.code).toBe(1);
    expect((await flotilla(['rollouts', 'watch', randomUUID()])).code).toBe(3);
  });

  it('dispatches the image tools and the simulator', async () => {
    const help = await flotilla(['image', '--help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('image build --board BOARD')]);
    expect((await flotilla(['flash'])).code).toBe(2);
    const sim = await flotilla(['sim', '--help']);
    expect([sim.code, sim.stdout, sim.stderr]).toEqual([0, expect.stringContaining('usage: flotilla sim --devices N'), '']);
  });
});
