import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAssemblyYaml } from '@flotilla/shared';
import { waitFor } from '../../support/wait';
import { DockerScope, docker, health } from './docker-cli';
import { ORIGIN_COMPONENTS, PLATFORMS, builtImages, componentYaml, lookupOf, readOriginFile, type OriginComponent } from './origin-files';

// Integration with the real registry and Docker Engine: the images that
// test/setup/build-origin-images.sh pushed (run by ensure-services.sh). amd64 variants run
// natively, arm64 ones under qemu-user (binfmt_misc, enabled by the same script). Containers
// join networks of their own, never the default bridge that other tests share.
jest.setTimeout(120_000);

const images = builtImages();
const scope = new DockerScope();
afterAll(() => scope.cleanup());

const image = (c: OriginComponent) => images.components[c].image;
const registryUrl = (ref: string, kind: 'manifests' | 'blobs') => {
  const [, repo, digest] = /^[^/]+\/(.+)@(sha256:[0-9a-f]{64})$/.exec(ref)!;
  return `http://${images.registry}/v2/${repo}/${kind}/${digest}`;
};

/** The local status file the agent writes (see components/device-status/README.md). */
const AGENT_STATUS = {
  schema: 1,
  deviceId: 'dev-origin-test',
  board: 'raspberrypi5',
  agentVersion: '0.1.0',
  at: '2026-11-27T12:00:00.000Z',
  connected: true,
  assembly: { name: 'origin', version: '1.0.0', releaseId: '5b0f3f0e-4c55-4d0c-9a39-5a6f6f0b4a10' },
  rev: 3,
  update: {
    phase: 'idle',
    active: { rev: 3, releaseId: '5b0f3f0e-4c55-4d0c-9a39-5a6f6f0b4a10', version: '1.0.0' },
    candidate: null,
    failedRev: null,
    lastFailure: null,
  },
  components: [{ name: 'mqtt-broker', image: image('mqtt-broker'), state: 'running', health: 'healthy', restartCount: 0 }],
};

describe('origin images in the registry', () => {
  it.each([...ORIGIN_COMPONENTS])('%s is one manifest list with linux/amd64 and linux/arm64', async (c) => {
    const res = await fetch(registryUrl(image(c), 'manifests'), {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    expect(res.status).toBe(200);
    const list = (await res.json()) as {
      mediaType: string;
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    expect(list.mediaType).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
    expect(list.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual([...PLATFORMS]);
    // Each entry's image config says the same architecture (what `docker run` checks).
    for (const platform of PLATFORMS) {
      const ref = images.components[c].platforms[platform].image;
      const manifest = (await (
        await fetch(registryUrl(ref, 'manifests'), { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })
      ).json()) as { config: { digest: string } };
      const config = (await (await fetch(registryUrl(`${ref.split('@')[0]}@${manifest.config.digest}`, 'blobs'))).json()) as {
        architecture: string;
        config: { Healthcheck: { Test: string[] } };
      };
      expect(`linux/${config.architecture}`).toBe(platform);
      expect(config.config.Healthcheck.Test).toEqual(
        componentYaml(c).healthcheck && (componentYaml(c).healthcheck as { test: string[] }).test,
      );
    }
  });

  it('.resolved.yaml is assembly.yaml resolved against the built components', () => {
    const lookup = lookupOf(ORIGIN_COMPONENTS.map((c) => images.components[c].manifest));
    const fromLibrary = parseAssemblyYaml(readOriginFile('assembly.yaml'), { components: lookup });
    const resolved = parseAssemblyYaml(readOriginFile('.resolved.yaml'));
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.issues, null, 2));
    expect(fromLibrary.ok && fromLibrary.spec).toEqual(resolved.spec);
    expect(resolved.spec.components.map((c) => c.image)).toEqual(
      ['device-status', 'mqtt-broker', 'sensor-sim'].map((c) => image(c as OriginComponent)),
    );
  });
});

describe('origin on this engine (amd64)', () => {
  let network: string;
  let broker: string;
  let statusDir: string;

  beforeAll(async () => {
    network = await scope.network('net');
    broker = scope.container('mqtt-broker');
    statusDir = mkdtempSync(join(tmpdir(), 'origin-status-'));
    // The page runs as nobody: the directory must be searchable and the file readable.
    chmodSync(statusDir, 0o755);
    writeFileSync(join(statusDir, 'status.json'), JSON.stringify(AGENT_STATUS));
    chmodSync(join(statusDir, 'status.json'), 0o644);
  });
  afterAll(() => rmSync(statusDir, { recursive: true, force: true }));

  it('the broker pulls by digest, runs and passes its health check', async () => {
    // The image's own health check (from component.yaml), polled faster than its 5 s.
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
      image('mqtt-broker'),
    );
    await waitFor('broker healthy', async () => ((await health(broker)) === 'healthy' ? true : undefined), 30_000, 500);
    expect(await docker('exec', broker, 'uname', '-m')).toBe('x86_64');
  });

  it('the sensor publishes readings to the broker', async () => {
    const sensor = scope.container('sensor-sim');
    await docker('run', '-d', '--init', '--name', sensor, '--network', network, '-e', 'SENSOR_INTERVAL=1', image('sensor-sim'));
    const message = await waitFor(
      'a retained reading on sensors/temperature',
      async () => (await docker('exec', broker, 'mosquitto_sub', '-t', 'sensors/temperature', '-C', '1', '-W', '5')) || undefined,
      20_000,
      500,
    );
    const reading = JSON.parse(message) as { sensor: string; value: number; unit: string; source: string; ts: number };
    expect(reading).toMatchObject({ sensor: 'temperature', unit: 'C', source: 'simulated' });
    expect(reading.value).toBeGreaterThan(15);
    expect(reading.value).toBeLessThan(30);
  });

  it('the status page shows the agent status and the last sensor reading', async () => {
    const page = scope.container('device-status');
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      page,
      '--network',
      network,
      '--health-interval',
      '1s',
      '-p',
      '127.0.0.1::8080',
      '-v',
      `${statusDir}:/run/flotilla:ro`,
      image('device-status'),
    );
    const address = (await docker('port', page, '8080/tcp')).split('\n')[0]!;
    const status = await waitFor(
      'a sensor reading on the status page',
      async () => {
        const body = (await (await fetch(`http://${address}/cgi-bin/status`)).json()) as {
          agent: typeof AGENT_STATUS | null;
          agentStatusAgeSeconds: number | null;
          sensor: { topic: string; payload: string; receivedAt: number } | null;
        };
        return body.sensor ? body : undefined;
      },
      30_000,
      500,
    );
    expect(status.agent).toEqual(AGENT_STATUS);
    expect(status.agentStatusAgeSeconds).toEqual(expect.any(Number));
    expect(status.sensor!.topic).toBe('sensors/temperature');
    expect(JSON.parse(status.sensor!.payload)).toMatchObject({ sensor: 'temperature', unit: 'C' });
    const html = await (await fetch(`http://${address}/`)).text();
    expect(html).toContain('<title>Device status</title>');
    await waitFor('device-status healthy', async () => ((await health(page)) === 'healthy' ? true : undefined), 30_000, 500);
  });
});

describe('origin under arm64 emulation', () => {
  it.each([...ORIGIN_COMPONENTS])('%s runs as aarch64 and its binaries load', async (c) => {
    // By the arm64 manifest's digest, not the list's: pulling the list for a foreign platform
    // would re-point the list's local reference to arm64 for everyone on this engine.
    const ref = images.components[c].platforms['linux/arm64'].image;
    const out = await docker(
      'run',
      '--rm',
      '--network',
      'none',
      '--platform',
      'linux/arm64',
      '--entrypoint',
      '/bin/sh',
      ref,
      '-c',
      'uname -m; mosquitto_sub --help | head -n 1; if [ -x /usr/sbin/mosquitto ]; then mosquitto -h | head -n 1; fi',
    );
    const lines = out.split('\n');
    expect(lines[0]).toBe('aarch64');
    expect(lines[1]).toMatch(/^mosquitto_sub is a simple mqtt client/);
    if (c === 'mqtt-broker') expect(lines[2]).toBe('mosquitto version 2.0.11');
  });

  it('the arm64 broker passes its health check', async () => {
    const broker = scope.container('arm64-broker');
    const network = await scope.network('arm64-net');
    await docker(
      'run',
      '-d',
      '--init',
      '--platform',
      'linux/arm64',
      '--name',
      broker,
      '--network',
      network,
      '--health-interval',
      '1s',
      images.components['mqtt-broker'].platforms['linux/arm64'].image,
    );
    await waitFor('arm64 broker healthy', async () => ((await health(broker)) === 'healthy' ? true : undefined), 60_000, 1000);
    expect(await docker('exec', broker, 'uname', '-m')).toBe('aarch64');
  });
});
