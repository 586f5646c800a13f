import Docker from 'dockerode';
import type { DeviceView, FleetView, ProvisioningTokenView, ReleaseView, WindowSchedule } from '@flotilla/shared';
import { testImages } from '../setup/services';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { waitFor } from '../support/wait';

// End to end, issue 18 item 2 in real time: the real agent downloads at once, reports that its
// switch waits for the maintenance window, and starts the release's container only once the
// window has opened (a minute boundary 8 to 68 s away: windows start on whole minutes).

jest.setTimeout(150_000);

const docker = new Docker();
const apiKey = 'e2e-window-key-0123456789abcdef012';
const assemblyName = `e2e-window-${Date.now().toString(36)}`;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

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
  const token = await api.post<ProvisioningTokenView>(`/api/v1/fleets/${fleet.body.id}/provisioning-tokens`, { maxUses: 1 });
  agent = AgentProcess.provisioned(workDir, { ...token.body.provisioning, name: assemblyName }, { TZ: 'UTC' });
  const online = await waitFor(
    'the agent to come online',
    async () => (await api.get<{ items: DeviceView[] }>(`/api/v1/devices?search=${assemblyName}`)).body.items.find((d) => d.online),
    60_000,
  );

  // The next whole minute at least 8 s away, in UTC (the agent's zone here).
  const opensAt = Math.ceil((Date.now() + 8_000) / 60_000) * 60_000;
  const start = new Date(opensAt);
  const hhmm = `${String(start.getUTCHours()).padStart(2, '0')}:${String(start.getUTCMinutes()).padStart(2, '0')}`;
  const windows: WindowSchedule = [{ days: [DAYS[start.getUTCDay()]!], start: hhmm, durationMinutes: 10 }];
  expect((await api.put(`/api/v1/fleets/${fleet.body.id}/update-policy`, { lockMaxDeferSeconds: null, windows })).status).toBe(200);

  const yaml = `name: ${assemblyName}\nx-flotilla: { version: 1.0.0, update: { probation: 1s } }\nservices:\n  app: { image: "${testImages().busybox}", command: sleep 3600 }\n`;
  const release = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
  expect(release.status).toBe(201);
  const assigned = await api.put<DeviceView>(`/api/v1/devices/${online.id}/release`, { releaseId: release.body.id });
  const rev = assigned.body.desired.rev;

  // Downloaded, and told to wait: the barrier that the switch was held (still FETCH, nothing started).
  const waiting = await waitFor(
    'the agent to report its wait for the window',
    async () => {
      const u = (await api.get<DeviceView>(`/api/v1/devices/${online.id}`)).body.reported?.update;
      return u?.deferred?.waitingFor === 'window' && u.candidate?.rev === rev ? u : undefined;
    },
    30_000,
    200,
  );
  expect(Date.now()).toBeLessThan(opensAt);
  expect(Date.parse(waiting.deferred!.opensAt!)).toBe(opensAt);
  expect(waiting.phase).toBe('fetch');
  expect(await docker.listContainers({ filters: { label: [`io.flotilla.assembly=${assemblyName}`] } })).toEqual([]);

  const running = await waitFor(
    'the switch once the window opened',
    async () => {
      const d = (await api.get<DeviceView>(`/api/v1/devices/${online.id}`)).body;
      return d.reported?.update.phase === 'idle' && d.reported.update.active?.rev === rev ? d : undefined;
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
