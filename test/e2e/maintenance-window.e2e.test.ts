import Docker from 'dockerode';
import type { DeviceView, FleetView, ProvisioningTokenView, ReleaseView, SetFleetTargetResponse, WindowSchedule } from '@flotilla/shared';
import { testImages } from '../setup/services';
import { join } from 'node:path';
import { AGENT_MAIN, AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { waitFor } from '../support/wait';

// End to end, issue 18 item 2 in real time: the real agent downloads at once, reports that its
// switch waits for the maintenance window, and starts the release's container only once the
// window has opened. Windows start on whole minutes: the agent runs on a clock set behind the
// host's (test/support/shifted-clock.js) so that its next whole minute comes OPENS_IN_MS after it
// starts, and its own timer, in real time, must wake it there.

jest.setTimeout(150_000);

const docker = new Docker();
const apiKey = 'e2e-window-key-0123456789abcdef012';
const assemblyName = `e2e-window-${Date.now().toString(36)}`;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** From the agent's start to its window's opening: provisioning, connecting and the download fit in well. */
const OPENS_IN_MS = 20_000;
const SHIFTED_CLOCK = join(__dirname, '..', 'support', 'shifted-clock.js');

let stack: E2eStack | undefined;
let api: ApiClient;
let agent: AgentProcess | undefined;
let workDir: string;

beforeAll(async () => {
  stack = await startE2eStack('window', apiKey);
  ({ api, workDir } = stack);
});

afterAll(async () => {
  await agent?.dispose();
  await stopE2eStack(stack);
});

it('downloads at once, waits for the window, and switches within seconds of its opening', async () => {
  const fleet = await api.post<FleetView>('/api/v1/fleets', { name: `window-${assemblyName}` });
  const yaml = `name: ${assemblyName}\nx-flotilla: { version: 1.0.0, update: { probation: 1s } }\nservices:\n  app: { image: "${testImages().busybox}", command: sleep 3600 }\n`;
  const release = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
  expect(release.status).toBe(201);
  const target = await api.put<SetFleetTargetResponse>(`/api/v1/fleets/${fleet.body.id}/target`, { releaseId: release.body.id });
  expect(target.status).toBe(202);

  // The agent's clock reads a whole minute (agentOpensAt, in UTC: its zone here) at the host's opensAt.
  const opensAt = Date.now() + OPENS_IN_MS;
  const agentOpensAt = Math.floor(opensAt / 60_000) * 60_000;
  const start = new Date(agentOpensAt);
  const hhmm = `${String(start.getUTCHours()).padStart(2, '0')}:${String(start.getUTCMinutes()).padStart(2, '0')}`;
  const windows: WindowSchedule = [{ days: [DAYS[start.getUTCDay()]!], start: hhmm, durationMinutes: 10 }];
  expect((await api.put(`/api/v1/fleets/${fleet.body.id}/update-policy`, { lockMaxDeferSeconds: null, windows })).status).toBe(200);

  // A fleet token: the device joins the fleet with its target, so the download starts at the first connect.
  const token = await api.post<ProvisioningTokenView>(`/api/v1/fleets/${fleet.body.id}/provisioning-tokens`, { maxUses: 1 });
  const env = { TZ: 'UTC', SHIFTED_CLOCK_MS: String(agentOpensAt - opensAt) };
  agent = AgentProcess.provisioned(workDir, { ...token.body.provisioning, name: assemblyName }, env, ['-r', SHIFTED_CLOCK, AGENT_MAIN]);

  // Downloaded, and told to wait: the barrier that the switch was held (still FETCH, nothing started).
  const device = async () => (await api.get<{ items: DeviceView[] }>(`/api/v1/devices?search=${assemblyName}`)).body.items[0];
  const waiting = await waitFor(
    'the agent to report its wait for the window',
    async () => {
      const d = await device();
      const u = d?.reported?.update;
      return u?.deferred?.waitingFor === 'window' && u.candidate?.rev === d!.desired.rev
        ? { id: d!.id, rev: d!.desired.rev, update: u }
        : undefined;
    },
    OPENS_IN_MS,
    200,
  );
  expect(Date.now()).toBeLessThan(opensAt);
  expect(Date.parse(waiting.update.deferred!.opensAt!)).toBe(agentOpensAt);
  expect(waiting.update.phase).toBe('fetch');
  expect(await docker.listContainers({ filters: { label: [`io.flotilla.assembly=${assemblyName}`] } })).toEqual([]);

  const running = await waitFor(
    'the switch once the window opened',
    async () => {
      const d = (await api.get<DeviceView>(`/api/v1/devices/${waiting.id}`)).body;
      return d.reported?.update.phase === 'idle' && d.reported.update.active?.rev === waiting.rev ? d : undefined;
    },
    opensAt - Date.now() + 30_000,
    250,
  );
  expect(running.reported!.update.deferred).toBeUndefined();
  const [container] = await docker.listContainers({ filters: { label: [`io.flotilla.assembly=${assemblyName}`] } });
  const started = Date.parse((await docker.getContainer(container!.Id).inspect()).State.StartedAt);
  expect(started).toBeGreaterThanOrEqual(opensAt);
  expect(started - opensAt).toBeLessThan(15_000);
});
