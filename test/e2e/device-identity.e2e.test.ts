import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { connectAsync } from 'mqtt';
import type { DeviceCredential, DeviceView, FleetView, ProvisioningTokenView, ReleaseView } from '@flotilla/shared';
import type { RunningControlPlane } from '../../control-plane/src/bootstrap';
import { AgentProcess } from '../support/agent-process';
import { ApiClient } from '../support/api-client';
import type { ScratchDatabase } from '../support/database';
import { GENERATED_TLS, startE2eStack, stopE2eStack, type E2eStack } from '../support/e2e-stack';
import { waitFor } from '../support/wait';
import { testImages } from '../setup/services';

// End to end: the agent as its own process holds nothing but the provisioning file; it
// registers over HTTPS (verified against the file's CA only), gets a certificate for a key
// it made itself, runs a release over mutual TLS, and renews its certificate while the
// release keeps running. Real TLS, real PostgreSQL, real Docker Engine.

jest.setTimeout(180_000);

/** As short as a fleet allows: the agent renews at two thirds (20 s), and the first certificate has expired 30 s after registration. */
const VALIDITY_SECONDS = 30;
const docker = new Docker();
const apiKey = 'e2e-tls-operator-key-0123456789abcdef';
const assemblyName = `e2e-tls-${Date.now().toString(36)}`;

let stack: E2eStack | undefined;
let db: ScratchDatabase;
let cp: RunningControlPlane;
let api: ApiClient;
let agent: AgentProcess | undefined;
let workDir: string;

const stateFile = (name: string) => join(workDir, 'agent-state', name);
const connects = () => (agent!.logs.match(/"mqtt connected"/g) ?? []).length;

async function containers(): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`io.flotilla.assembly=${assemblyName}`] } });
}

async function device(id: string): Promise<DeviceView> {
  return (await api.get<DeviceView>(`/api/v1/devices/${id}`)).body;
}

beforeAll(async () => {
  stack = await startE2eStack('tls', apiKey, GENERATED_TLS);
  ({ workDir, db, cp, api } = stack);
});

afterAll(async () => {
  await agent?.dispose();
  await stopE2eStack(stack);
});

describe('a device identity of its own, over TLS', () => {
  let deviceId: string;

  it('provisions over HTTPS from the provisioning file alone and connects with its own certificate', async () => {
    const fleet = await api.post<FleetView>('/api/v1/fleets', { name: 'tls-fleet', certificateValiditySeconds: VALIDITY_SECONDS });
    expect(fleet.status).toBe(201);
    const token = await api.post<ProvisioningTokenView>(`/api/v1/fleets/${fleet.body.id}/provisioning-tokens`, { maxUses: 1 });
    const provisioning = token.body.provisioning;
    expect(provisioning.apiUrl).toBe(cp.tls!.httpsUrl);
    expect(provisioning.mqttUrl).toBe(cp.tls!.mqttsUrl);
    // Scoped: agents of other tests on this engine leave its containers alone, and it theirs.
    agent = AgentProcess.provisioned(
      workDir,
      { ...provisioning, name: 'tls-board' },
      { FLOTILLA_SCOPE_LABEL: `io.flotilla.scope=${assemblyName}` },
    );

    const online = await waitFor(
      'the agent to register and come online',
      async () => (await api.get<{ items: DeviceView[] }>('/api/v1/devices?search=tls-board')).body.items.find((d) => d.online),
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.logs}`);
    });
    deviceId = online.id;

    const credential = JSON.parse(readFileSync(stateFile('credential.json'), 'utf8')) as DeviceCredential;
    expect(credential.password).toBeUndefined();
    expect(credential.caCertificates).toEqual(provisioning.caCertificates);
    expect(statSync(stateFile('device-key.pem')).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(readFileSync(stateFile('device-cert.pem')));
    expect(cert.subject).toBe(`CN=${deviceId}`);
    expect(cert.checkIssued(new X509Certificate(readFileSync(join(cp.dataDir, 'tls', 'device-ca.pem'))))).toBe(true);
    expect(agent.logs).not.toContain('PRIVATE KEY');
  });

  it('runs a release over mutual TLS', async () => {
    const yaml = `name: ${assemblyName}\nx-flotilla:\n  version: 1.0.0\n  update: { probation: 1s }\nservices:\n  app:\n    image: ${testImages().busybox}\n    command: sleep 3600\n`;
    const release = await api.post<ReleaseView>('/api/v1/releases', yaml, 'application/yaml');
    expect(release.status).toBe(201);
    const assigned = await api.put<DeviceView>(`/api/v1/devices/${deviceId}/release`, { releaseId: release.body.id });
    const rev = assigned.body.desired.rev;
    await waitFor(
      'the release to run',
      async () => {
        const update = (await device(deviceId)).reported?.update;
        return update?.phase === 'idle' && update.active?.rev === rev ? true : undefined;
      },
      90_000,
      500,
    );
  });

  it('renews its certificate before it expires, without dropping its connection or its assembly', async () => {
    const [before] = await containers();
    const startedAt = (await docker.getContainer(before!.Id).inspect()).State.StartedAt;
    const firstCert = readFileSync(stateFile('device-cert.pem'), 'utf8');
    const connectsBefore = connects();

    await waitFor(
      'a renewed certificate',
      async () => (readFileSync(stateFile('device-cert.pem'), 'utf8') !== firstCert ? true : undefined),
      60_000,
      500,
    );
    const renewed = new X509Certificate(readFileSync(stateFile('device-cert.pem')));
    expect(renewed.subject).toBe(`CN=${deviceId}`);
    expect(new Date(renewed.validTo).getTime()).toBeGreaterThan(new Date(new X509Certificate(firstCert).validTo).getTime());
    expect(connects()).toBe(connectsBefore);
    expect((await device(deviceId)).online).toBe(true);
    const after = await containers();
    if (after.length !== 1)
      throw new Error(`containers: ${JSON.stringify(after.map((c) => [c.Id, c.State, c.Names]))}\n${agent!.logs.slice(-6000)}`);
    expect(after[0]!.Id).toBe(before!.Id);
    expect((await docker.getContainer(after[0]!.Id).inspect()).State).toMatchObject({ Running: true, StartedAt: startedAt });
  });

  it('reconnects with the renewed certificate once the first one has expired', async () => {
    const first = (
      await db.query<{ not_after: Date }>('SELECT not_after FROM device_certificates WHERE device_id = $1 ORDER BY issued_at LIMIT 1', [
        deviceId,
      ])
    )[0]!;
    await waitFor(
      'the first certificate to expire',
      async () => (Date.now() > first.not_after.getTime() + 1000 ? true : undefined),
      60_000,
      500,
    );
    // Take the session over with the agent's own key and current certificate (proof that it is
    // valid), then leave: the agent's reconnect must present a certificate that is still valid.
    const connectsBefore = connects();
    const thief = await connectAsync(cp.tls!.mqttsUrl, {
      clientId: deviceId,
      ca: cp.tls!.caCertificates,
      cert: readFileSync(stateFile('device-cert.pem'), 'utf8'),
      key: readFileSync(stateFile('device-key.pem'), 'utf8'),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await thief.endAsync();
    await waitFor('the agent to reconnect', async () => (connects() > connectsBefore ? true : undefined), 30_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}\nagent output:\n${agent!.logs.slice(-3000)}`);
    });
    await waitFor('the device online again', async () => ((await device(deviceId)).online ? true : undefined), 15_000);
    expect((await containers())[0]!.State).toBe('running');
  });
});
