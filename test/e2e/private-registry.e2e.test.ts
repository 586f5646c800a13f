import { statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { DeviceView, FleetView, ProvisioningTokenView, RegistryCredentialsView, ReleaseView } from '@flotilla/shared';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import { startAuthRegistry, type AuthRegistry } from '../support/auth-registry';
import { startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { waitFor } from '../support/wait';

// End to end: an image that only a registry with a login serves (docker-registry + htpasswd,
// started here), the control plane holding that login granted to the device's fleet, and the
// real agent pulling with it.

jest.setTimeout(180_000);

const docker = new Docker();
const apiKey = 'e2e-registry-key-0123456789abcdef';
const assemblyName = `e2e-private-${Date.now().toString(36)}`;

let registry: AuthRegistry;
let image: string;
let stack: E2eStack | undefined;
let api: ApiClient;
let agent: AgentProcess | undefined;
let workDir: string;

beforeAll(async () => {
  registry = await startAuthRegistry();
  image = await registry.pushUniqueImage(`flotilla-e2e/${assemblyName}`);
  stack = await startE2eStack('private', apiKey);
  ({ api, workDir } = stack);
});

afterAll(async () => {
  await agent?.dispose();
  await stopE2eStack(stack);
  if (image)
    await docker
      .getImage(image)
      .remove()
      .catch(() => undefined);
  await registry?.stop();
});

async function device(id: string): Promise<DeviceView> {
  return (await api.get<DeviceView>(`/api/v1/devices/${id}`)).body;
}

async function assign(deviceId: string, release: ReleaseView): Promise<number> {
  const res = await api.put<DeviceView>(`/api/v1/devices/${deviceId}/release`, { releaseId: release.id });
  expect(res.status).toBe(200);
  return res.body.desired.rev;
}

function settledOn(deviceId: string, rev: number, what: string): Promise<DeviceView> {
  return waitFor(
    what,
    async () => {
      const d = await device(deviceId);
      const u = d.reported?.update;
      return u?.phase === 'idle' && (u.active?.rev === rev || u.failedRev === rev) ? d : undefined;
    },
    90_000,
    500,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\nagent output:\n${agent?.logs ?? ''}`);
  });
}

describe('a release whose image lives in a private registry', () => {
  it('fails FETCH without a login, saying what to do, then runs once the login is stored, granted to its fleet and the release assigned again', async () => {
    const fleet = await api.post<FleetView>('/api/v1/fleets', { name: `private-${assemblyName}` });
    const token = await api.post<ProvisioningTokenView>(`/api/v1/fleets/${fleet.body.id}/provisioning-tokens`, { maxUses: 1 });
    agent = AgentProcess.provisioned(workDir, { ...token.body.provisioning, name: 'e2e-private' });
    const online = await waitFor(
      'the agent to come online',
      async () => {
        const list = await api.get<{ items: DeviceView[] }>('/api/v1/devices?search=e2e-private');
        return list.body.items.find((d) => d.name === 'e2e-private' && d.online);
      },
      60_000,
    );

    const release = await api.post<ReleaseView>(
      '/api/v1/releases',
      `name: ${assemblyName}\nx-flotilla: { version: 1.0.0, update: { probation: 1s } }\nservices:\n  app: { image: "${image}", command: sleep 3600 }\n`,
      'application/yaml',
    );
    expect(release.status).toBe(201);

    const refusedRev = await assign(online.id, release.body);
    const refused = await settledOn(online.id, refusedRev, 'the pull to be refused');
    expect(refused.reported!.update).toMatchObject({ failedRev: refusedRev, active: null });
    expect(refused.reported!.update.lastFailure).toContain(`sets credentials with PUT /api/v1/registries/${registry.host}/credentials`);

    const stored = await api.put<RegistryCredentialsView>(`/api/v1/registries/${registry.host}/credentials`, {
      username: registry.username,
      password: registry.password,
    });
    expect(stored.status).toBe(200);
    expect((await api.put<RegistryCredentialsView>(`/api/v1/registries/${registry.host}/grants/${fleet.body.id}`, {})).status).toBe(200);
    const rev = await assign(online.id, release.body);
    const running = await settledOn(online.id, rev, 'the release to run');
    expect(running.reported!.update.active).toMatchObject({ rev, releaseId: release.body.id });
    expect(running.reported!.components).toEqual([expect.objectContaining({ name: 'app', image, state: 'running' })]);

    // The login sits in the agent's journal, readable by its owner only.
    expect(statSync(join(workDir, 'agent-state', 'update-journal.json')).mode & 0o777).toBe(0o600);
    expect(agent.logs).not.toContain(registry.password);
  });
});
