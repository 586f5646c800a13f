import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { minimalComponent } from '@flotilla/shared';
import { testImages } from '../../../test/setup/services';
import { DockerRuntime } from './docker-runtime';
import { EngineClient } from './engine-client';
import { LABEL, containerName, resourceLabels } from './labels';

/**
 * Integration (real Docker Engine): two agents on one engine, told apart by scope labels of
 * their own (`FLOTILLA_SCOPE_LABEL`). A release's labels must not make one agent's container another's.
 */
const docker = new Docker();
const run = randomBytes(3).toString('hex');
const scopeKey = 'io.flotilla.test-run';
const theirKey = 'io.flotilla.other-run';
const ours = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { [scopeKey]: run } });
const theirs = new DockerRuntime(EngineClient.fromEnv(), { scopeLabels: { [theirKey]: run } });
const name = containerName(`labels${run}`, `sha256:${run}`.padEnd(19, '0'));

afterAll(async () => {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => undefined);
});

describe("a release's labels on a real engine", () => {
  it("cannot put a container under another agent's scope, or name another component", async () => {
    const spec = minimalComponent(`labels${run}`, testImages().busybox, {
      command: ['sleep', '30'],
      networks: [],
      labels: { [theirKey]: run, [LABEL.component]: 'someone-else', 'org.example.team': 'kiosk' },
    });
    const assembly = `labels${run}`;
    const labels = { ...resourceLabels(assembly), [LABEL.component]: spec.name };
    await ours.createAndStart({ name, assembly, spec, labels });
    expect((await theirs.listContainers()).map((c) => c.name)).not.toContain(name);
    const mine = (await ours.listContainers()).find((c) => c.name === name);
    expect(mine?.labels).toMatchObject({ [scopeKey]: run, [LABEL.component]: spec.name, 'org.example.team': 'kiosk' });
    expect(mine?.labels).not.toHaveProperty(theirKey);
  });
});
