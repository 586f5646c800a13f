import type { ComponentSpec } from '@flotilla/shared';
import { deviceMapping, toCreateOptions } from './container-config';

function spec(overrides: Partial<ComponentSpec> = {}): ComponentSpec {
  return {
    name: 'web',
    image: 'registry.local/web@sha256:' + 'a'.repeat(64),
    environment: { A: '1', EMPTY: '' },
    ports: [],
    mounts: [],
    restart: 'always',
    dependsOn: {},
    labels: { 'org.example': 'x', 'io.flotilla.component': 'spoofed', 'io.flotilla.test-run': 'another-agent', 'IO.Flotilla.x': 'y' },
    devices: [],
    capAdd: [],
    networks: ['default'],
    update: 'download-then-switch',
    ...overrides,
  };
}

const labels = { 'io.flotilla.managed': 'true', 'io.flotilla.component': 'web' };

describe('toCreateOptions', () => {
  it("maps environment, labels (the release's own, none in the agent's namespace), restart policy and init", () => {
    const { options } = toCreateOptions({ name: 'flotilla_web', assembly: 'origin', spec: spec(), labels });
    expect(options.name).toBe('flotilla_web');
    expect(options.Env).toEqual(['A=1', 'EMPTY=']);
    expect(options.Labels).toEqual({ 'org.example': 'x', 'io.flotilla.managed': 'true', 'io.flotilla.component': 'web' });
    expect(options.HostConfig).toMatchObject({ Init: true, RestartPolicy: { Name: 'always' } });
    expect(options).not.toHaveProperty('Cmd');
    expect(options).not.toHaveProperty('Healthcheck');
  });

  it('publishes ports with host ip, and any free host port when none is given', () => {
    const { options } = toCreateOptions({
      name: 'n',
      assembly: 'origin',
      labels,
      spec: spec({
        ports: [
          { container: 80, host: 8080, hostIp: '127.0.0.1', protocol: 'tcp' },
          { container: 53, protocol: 'udp' },
          { container: 80, host: 8081, protocol: 'tcp' },
        ],
      }),
    });
    expect(options.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(options.HostConfig!.PortBindings).toEqual({
      '80/tcp': [{ HostPort: '8080', HostIp: '127.0.0.1' }, { HostPort: '8081' }],
      '53/udp': [{ HostPort: '' }],
    });
  });

  it('prefixes named volumes with the assembly and keeps binds as they are', () => {
    const { options } = toCreateOptions({
      name: 'n',
      assembly: 'origin',
      labels,
      spec: spec({
        mounts: [
          { type: 'volume', source: 'data', target: '/data', readOnly: false },
          { type: 'bind', source: '/etc/machine-id', target: '/etc/machine-id', readOnly: true },
        ],
      }),
    });
    expect(options.HostConfig!.Binds).toEqual(['flotilla_origin_data:/data:rw', '/etc/machine-id:/etc/machine-id:ro']);
  });

  it('converts health check durations to nanoseconds', () => {
    const { options } = toCreateOptions({
      name: 'n',
      assembly: 'origin',
      labels,
      spec: spec({ healthcheck: { test: ['CMD-SHELL', 'true'], intervalMs: 1_500, timeoutMs: 500, retries: 2, startPeriodMs: 10_000 } }),
    });
    expect(options.Healthcheck).toEqual({
      Test: ['CMD-SHELL', 'true'],
      Interval: 1_500_000_000,
      Timeout: 500_000_000,
      Retries: 2,
      StartPeriod: 10_000_000_000,
    });
  });

  it('sets limits, capabilities, devices, command and entrypoint', () => {
    const { options } = toCreateOptions({
      name: 'n',
      assembly: 'origin',
      labels,
      spec: spec({
        memLimitBytes: 128 * 1024 * 1024,
        cpus: 1.5,
        capAdd: ['SYS_RAWIO'],
        devices: ['/dev/i2c-1'],
        command: ['run', '--fast'],
        entrypoint: ['/init'],
      }),
    });
    expect(options.HostConfig).toMatchObject({
      Memory: 134_217_728,
      NanoCpus: 1_500_000_000,
      CapAdd: ['SYS_RAWIO'],
      Devices: [{ PathOnHost: '/dev/i2c-1', PathInContainer: '/dev/i2c-1', CgroupPermissions: 'rwm' }],
    });
    expect(options.Cmd).toEqual(['run', '--fast']);
    expect(options.Entrypoint).toEqual(['/init']);
  });

  it('joins the first network at create with the component name as alias, and returns the rest', () => {
    const { options, extraNetworks } = toCreateOptions({
      name: 'n',
      assembly: 'origin',
      labels,
      spec: spec({ networks: ['backend', 'default'] }),
    });
    expect(options.HostConfig!.NetworkMode).toBe('flotilla_origin_backend');
    expect(options.NetworkingConfig).toEqual({ EndpointsConfig: { flotilla_origin_backend: { Aliases: ['web'] } } });
    expect(extraNetworks).toEqual(['flotilla_origin_default']);
  });
});

describe('deviceMapping', () => {
  it('reads the Compose forms host, host:container and host:container:permissions', () => {
    expect(deviceMapping('/dev/ttyUSB0:/dev/modem:rw')).toEqual({
      PathOnHost: '/dev/ttyUSB0',
      PathInContainer: '/dev/modem',
      CgroupPermissions: 'rw',
    });
    expect(deviceMapping('/dev/gpiomem:/dev/gpiomem')).toEqual({
      PathOnHost: '/dev/gpiomem',
      PathInContainer: '/dev/gpiomem',
      CgroupPermissions: 'rwm',
    });
  });
});
