import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseAssemblyYaml } from '@flotilla/shared';
import { waitFor } from '../../support/wait';
import { DockerScope, docker, health } from './docker-cli';
import { ORIGIN_COMPONENTS, ORIGIN_DIR, builtImages, lookupOf, readOriginFile } from './origin-files';

// The README's "Bring your own component", as written there: build an image FROM one of
// origin's, push it, add it as a service next to origin's components, and see it work with
// them (its readings reach origin's broker). Real registry and Docker Engine.
jest.setTimeout(120_000);

const EXAMPLE = join(ORIGIN_DIR, 'examples', 'hello-sensor');
const images = builtImages();
const scope = new DockerScope();
const tag = `127.0.0.1:5000/acme/hello-sensor:${scope.prefix}`;
afterAll(async () => {
  await scope.cleanup();
  await docker('rmi', tag).catch(() => undefined);
});

it('a user image built FROM sensor-sim joins origin and publishes to its broker', async () => {
  await docker('build', '-q', '--build-arg', `BASE=${images.components['sensor-sim'].image}`, '-t', tag, EXAMPLE);
  await docker('push', tag);
  const pinned = (await docker('inspect', '-f', '{{range .RepoDigests}}{{println .}}{{end}}', tag))
    .split('\n')
    .find((d) => d.startsWith('127.0.0.1:5000/acme/hello-sensor@sha256:'))!;
  expect(pinned).toBeDefined();

  // The README's snippet, with this image's digest, under origin's services.
  const service = parse(readFileSync(join(EXAMPLE, 'service.yaml'), 'utf8')) as { 'hello-sensor': { image: string } };
  service['hello-sensor'].image = pinned;
  const assembly = parse(readOriginFile('assembly.yaml')) as { services: Record<string, unknown> };
  assembly.services = { ...assembly.services, ...service };
  const result = parseAssemblyYaml(stringify(assembly), {
    components: lookupOf(ORIGIN_COMPONENTS.map((c) => images.components[c].manifest)),
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues, null, 2));
  const hello = result.spec.components.find((c) => c.name === 'hello-sensor')!;
  expect(hello).toMatchObject({ image: pinned, networks: ['origin'], dependsOn: { 'mqtt-broker': 'service_healthy' } });

  const network = await scope.network('net');
  const broker = scope.container('mqtt-broker');
  await docker(
    'run',
    '-d',
    '--init',
    '--name',
    broker,
    '--network',
    network,
    '--network-alias',
    'mqtt-broker',
    '--health-interval',
    '1s',
    images.components['mqtt-broker'].image,
  );
  await waitFor('broker healthy', async () => ((await health(broker)) === 'healthy' ? true : undefined), 30_000, 500);
  const env = Object.entries(hello.environment).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  await docker(
    'run',
    '-d',
    '--init',
    '--name',
    scope.container('hello-sensor'),
    '--network',
    network,
    ...env,
    '-e',
    'HELLO_INTERVAL=1',
    pinned,
  );
  const message = await waitFor(
    'a reading on sensors/hello',
    async () => (await docker('exec', broker, 'mosquitto_sub', '-t', 'sensors/hello', '-C', '1', '-W', '5')) || undefined,
    20_000,
    500,
  );
  expect(JSON.parse(message)).toMatchObject({ sensor: 'hello', unit: 'count' });
});
