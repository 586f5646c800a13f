import Docker from 'dockerode';
import type { CommandResultView, DeviceView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import type { RunningControlPlane } from '../../control-plane/src/bootstrap';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';
import { testImages } from '../setup/services';

// End to end: a real PostgreSQL, the control plane with aedes on TCP, the agent as its own
// process, and the real Docker Engine running the containers it creates.

jest.setTimeout(180_000);

const docker = new Docker();
const apiKey = 'e2e-operator-key-0123456789abcdef';
const assemblyName = `e2e-${Date.now().toString(36)}`;

let stack: E2eStack | undefined;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: AgentProcess | undefined;
let workDir: string;
let webPort: number;

function manifest(version: string, workerMode: string): string {
  const { busybox } = testImages();
  return `
name: ${assemblyName}
x-flotilla:
  version: ${version}
  update: { probation: 1s }
services:
  web:
    image: ${busybox}
    environment:
      GREETING: hello from web
    command: ["sh", "-c", "mkdir -p /www && echo \\"$$GREETING\\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:${webPort}:8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
      interval: 1s
      retries: 30
  worker:
    image: ${busybox}
    environment: [MODE=${workerMode}]
    command: sleep 3600
    depends_on:
      web: { condition: service_healthy }
`;
}

async function containersOfAssembly(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.flotilla.assembly=${assemblyName}`] } });
}

async function device(id: string): Promise<DeviceView> {
  const res = await api.get<DeviceView>(`/api/v1/devices/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function publish(yaml: string): Promise<ReleaseView> {
  const res = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
  expect(res.status).toBe(201);
  return res.body;
}

async function assignAndWaitRunning(deviceId: string, release: ReleaseView): Promise<DeviceView> {
  const assigned = await api.put<DeviceView>(`/api/v1/devices/${deviceId}/release`, { releaseId: release.id });
  expect(assigned.status).toBe(200);
  const rev = assigned.body.desired.rev;
  return waitFor(
    `device ${deviceId} to report release ${release.version} (rev ${rev}) running`,
    async () => {
      const d = await device(deviceId);
      const update = d.reported?.update;
      return update?.phase === 'idle' && update.active?.rev === rev ? d : undefined;
    },
    90_000,
    500,
  );
}

beforeAll(async () => {
  webPort = await freePort();
  stack = await startE2eStack('skeleton', apiKey);
  ({ workDir, cp, api } = stack);
});

afterAll(async () => {
  await agent?.dispose();
  await stopE2eStack(stack);
});

describe('walking skeleton', () => {
  let deviceId: string;

  it('an agent provisioned with a token registers, connects and reports its hardware', async () => {
    const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1 });
    expect(token.status).toBe(201);
    // The control plane hands out a ready provisioning.json; an image build writes it to the boot partition.
    expect(token.body.provisioning).toMatchObject({ apiUrl: cp.httpUrl, mqttUrl: cp.mqttUrl, token: token.body.token });
    expect(token.body.provisioning.releaseKeys.length).toBeGreaterThan(0);
    agent = AgentProcess.provisioned(workDir, { ...token.body.provisioning, name: 'e2e-board' });

    const online = await waitFor(
      'the agent to register and come online',
      async () => {
        const list = await api.get<{ items: DeviceView[] }>('/api/v1/devices?search=e2e-board');
        return list.body.items.find((d) => d.name === 'e2e-board' && d.online && d.inventory);
      },
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.logs}`);
    });
    deviceId = online.id;
    expect(online.inventory!.memory.totalBytes).toBeGreaterThan(0);
    expect(online.inventory!.cpu.cores).toBeGreaterThan(0);
    expect(online.inventory!.os.kernel).not.toBe('');

    const reused = await new ApiClient(cp.httpUrl).post('/api/v1/devices/register', { token: token.body.token });
    expect(reused.status).toBeGreaterThanOrEqual(400);
  });

  it('runs a two-component assembly with the right env and ports, and the API shows what it reported', async () => {
    const v1 = await publish(manifest('1.0.0', 'first'));
    const d = await assignAndWaitRunning(deviceId, v1);

    expect(d.reported!.update.active!.releaseId).toBe(v1.id);
    expect(d.reported!.components.map((c) => [c.name, c.state])).toEqual(
      expect.arrayContaining([
        ['web', 'running'],
        ['worker', 'running'],
      ]),
    );
    expect(d.reported!.components.find((c) => c.name === 'web')!.health).toBe('healthy');

    const page = await fetch(`http://127.0.0.1:${webPort}/`);
    expect(await page.text()).toBe('hello from web\n');

    const containers = await containersOfAssembly();
    expect(containers).toHaveLength(2);
    const worker = await docker.getContainer(containers.find((c) => c.Labels['io.flotilla.component'] === 'worker')!.Id).inspect();
    expect(worker.Config.Env).toContain('MODE=first');
    expect(worker.Config.Labels['io.flotilla.managed']).toBe('true');
  });

  it('a v2 that changes one component env recreates only that component', async () => {
    const before = new Map((await containersOfAssembly()).map((c) => [c.Labels['io.flotilla.component'], c.Id]));
    const v2 = await publish(manifest('2.0.0', 'second'));
    await assignAndWaitRunning(deviceId, v2);

    const after = await containersOfAssembly();
    expect(after).toHaveLength(2);
    const byName = new Map(after.map((c) => [c.Labels['io.flotilla.component'], c.Id]));
    expect(byName.get('web')).toBe(before.get('web'));
    expect(byName.get('worker')).not.toBe(before.get('worker'));
    const worker = await docker.getContainer(byName.get('worker')!).inspect();
    expect(worker.Config.Env).toContain('MODE=second');
    expect(worker.State.Running).toBe(true);
  });

  it('runs a command sent through the API: signed by the control plane, verified and run by the agent', async () => {
    const res = await api.post<CommandResultView>(`/api/v1/devices/${deviceId}/commands`, {
      name: 'restart-component',
      args: { component: 'web' },
      timeoutMs: 20_000,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, error: null, output: expect.stringContaining('restarted') });
    // Nothing on trial: the control plane names the rev a rollback ends, and refuses when there is none.
    const rollback = await api.post<{ code: string }>(`/api/v1/devices/${deviceId}/commands`, { name: 'rollback' });
    expect([rollback.status, rollback.body.code]).toEqual([409, 'nothing_on_trial']);
  });

  it('shows the device offline once its agent stops', async () => {
    await agent!.stop();
    await waitFor('the device to show offline', async () => ((await device(deviceId)).online ? undefined : true), 30_000);
    // The containers outlive the agent: a restart of the agent must not take the assembly down.
    expect((await containersOfAssembly()).every((c) => c.State === 'running')).toBe(true);
  });
});
