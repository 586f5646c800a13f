import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { parse, stringify } from 'yaml';
import type { DeviceView, FleetView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import type { RunningControlPlane } from '../../control-plane/src/bootstrap';
import { REPO_COMPONENTS_DIR } from '../../control-plane/src/config';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import type { ScratchDatabase } from '../support/database';
import { startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { freePort } from '../support/ports';
import { waitFor } from '../support/wait';

// End to end, issue 8: origin from a fresh control plane (library seeded from components/,
// images from the local registry as multi-arch lists) to the real agent on the real Docker
// Engine; then a broken variant that the device rolls back from by itself.

jest.setTimeout(300_000);

const docker = new Docker();
const apiKey = 'origin-e2e-operator-key-0123456789';
const scope = `origin-e2e-${Date.now().toString(36)}`;

let stack: E2eStack | undefined;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: AgentProcess | undefined;
let workDir: string;
let ports: { broker: number; page: number };

interface StatusPage {
  agent: { deviceId: string; assembly: { name: string; version: string } | null; update: { phase: string } } | null;
  sensor: { topic: string; payload: string } | null;
}

/**
 * origin as committed, with what two test runs on one engine must not share: host ports,
 * the host's /run/flotilla, and a 30 s probation that would only slow the test down.
 */
function originVariant(version: string, deviceStatusOverrides: Record<string, unknown> = {}): string {
  const assembly = parse(readFileSync(join(REPO_COMPONENTS_DIR, '..', 'assemblies', 'origin', 'assembly.yaml'), 'utf8'));
  assembly['x-flotilla'].version = version;
  assembly['x-flotilla'].update.probation = '6s';
  assembly.services['mqtt-broker'].ports = [`127.0.0.1:${ports.broker}:1883`];
  assembly.services['device-status'].ports = [`127.0.0.1:${ports.page}:8080`];
  assembly.services['device-status'].volumes = [`${join(workDir, 'agent-run')}:/run/flotilla:ro`];
  Object.assign(assembly.services['device-status'], deviceStatusOverrides);
  return stringify(assembly);
}

async function device(id: string): Promise<DeviceView> {
  const res = await api.get<DeviceView>(`/api/v1/devices/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function publishAndAssign(deviceId: string, yaml: string): Promise<{ release: ReleaseView; rev: number }> {
  const published = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
  expect(published.status).toBe(201);
  const assigned = await api.put<DeviceView>(`/api/v1/devices/${deviceId}/release`, { releaseId: published.body.id });
  expect(assigned.status).toBe(200);
  return { release: published.body, rev: assigned.body.desired.rev };
}

async function statusPage(): Promise<StatusPage> {
  const res = await fetch(`http://127.0.0.1:${ports.page}/cgi-bin/status`);
  return (await res.json()) as StatusPage;
}

async function scopedContainers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.flotilla.scope=${scope}`] } });
}

beforeAll(async () => {
  ports = { broker: await freePort(), page: await freePort() };
  stack = await startE2eStack('origin', apiKey, { componentsDir: REPO_COMPONENTS_DIR });
  ({ workDir, db, cp, api } = stack);
});

afterAll(async () => {
  await agent?.dispose();
  await stopE2eStack(stack);
});

describe('origin on a real agent', () => {
  let deviceId: string;

  it('seeds the library with origin components on first start', () => {
    expect(cp.seeded.map((s) => s.status)).toEqual(['created', 'created', 'created']);
  });

  it('deploys origin, commits once healthy, and the status page shows a sensor reading and the device', async () => {
    // device-status binds the host's /run/flotilla (here the agent's run directory): a host-level
    // power, which only a fleet whose host policy allows it may run. The device joins that fleet.
    const fleet = await api.post<FleetView>('/api/v1/fleets', { name: 'origin-e2e' });
    expect(fleet.status).toBe(201);
    const policy = await api.put(`/api/v1/fleets/${fleet.body.id}/host-policy`, { bindMounts: [join(workDir, 'agent-run')] });
    expect(policy.status).toBe(200);
    const token = await api.post<ProvisioningTokenView>('/api/v1/provisioning-tokens', { maxUses: 1, fleetId: fleet.body.id });
    agent = AgentProcess.provisioned(
      workDir,
      { ...token.body.provisioning, name: 'origin-e2e' },
      {
        FLOTILLA_SCOPE_LABEL: `io.flotilla.scope=${scope}`,
        // This machine is none of origin's boards; the agent stands in for the QEMU one (images are multi-arch).
        FLOTILLA_BOARD: 'qemu-arm64-virt',
      },
    );
    deviceId = (
      await waitFor(
        'the agent to come online',
        async () => {
          const list = await api.get<{ items: DeviceView[] }>('/api/v1/devices?search=origin-e2e');
          return list.body.items.find((d) => d.name === 'origin-e2e' && d.online);
        },
        60_000,
      )
    ).id;

    const { release, rev } = await publishAndAssign(deviceId, originVariant('1.0.0'));
    await waitFor(
      `origin ${release.version} committed`,
      async () => {
        const u = (await device(deviceId)).reported?.update;
        return u?.phase === 'idle' && u.active?.rev === rev ? u : undefined;
      },
      180_000,
      1_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.logs.slice(-4000)}`);
    });

    const page = await waitFor(
      'a sensor reading and the agent status on the page',
      async () => {
        const s = await statusPage();
        return s.sensor && s.agent?.assembly ? s : undefined;
      },
      60_000,
      1_000,
    );
    expect(page.sensor!.topic).toBe('sensors/temperature');
    expect(JSON.parse(page.sensor!.payload)).toMatchObject({ sensor: 'temperature', unit: 'C' });
    expect(page.agent!.deviceId).toBe(deviceId);
    expect(page.agent!.assembly).toMatchObject({ name: 'origin', version: '1.0.0' });

    const running = await scopedContainers();
    expect(running.map((c) => c.Labels['io.flotilla.component']).sort()).toEqual(['device-status', 'mqtt-broker', 'sensor-sim']);
    expect(running.every((c) => c.State === 'running')).toBe(true);
  });

  it('rolls back by itself from an origin whose device-status never becomes healthy', async () => {
    const before = new Map((await scopedContainers()).map((c) => [c.Labels['io.flotilla.component'], c.Id]));
    // A page that never passes its health check: the gate must fail and the old slot come back.
    const { rev } = await publishAndAssign(
      deviceId,
      originVariant('1.0.1', { healthcheck: { test: ['CMD', 'false'], interval: '1s', retries: 2 } }),
    );

    const update = await waitFor(
      'the device to roll back',
      async () => {
        const u = (await device(deviceId)).reported?.update;
        return u?.phase === 'idle' && u.failedRev === rev ? u : undefined;
      },
      180_000,
      1_000,
    );
    expect(update.active?.version).toBe('1.0.0');
    expect(update.lastFailure).toMatch(/device-status/);

    const after = await scopedContainers();
    expect(after.map((c) => c.Labels['io.flotilla.component']).sort()).toEqual(['device-status', 'mqtt-broker', 'sensor-sim']);
    expect(after.every((c) => c.State === 'running')).toBe(true);
    // The components the broken release did not touch were never stopped.
    expect(after.find((c) => c.Labels['io.flotilla.component'] === 'mqtt-broker')!.Id).toBe(before.get('mqtt-broker'));
    const page = await waitFor(
      'the page of the old slot answering again',
      async () => (await statusPage()).sensor ?? undefined,
      60_000,
      1_000,
    );
    expect(page.topic).toBe('sensors/temperature');

    const events = await db.query<{ message: string }>(
      `SELECT message FROM device_events WHERE device_id = $1 AND kind = 'update-rolled-back'`,
      [deviceId],
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.message).toMatch(/device-status/);
  });
});
