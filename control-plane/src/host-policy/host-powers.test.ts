import { EMPTY_HOST_POLICY, minimalComponent, type AssemblySpec, type HostPolicy } from '@flotilla/shared';
import { hostPowerViolations } from './host-powers';

const assembly: AssemblySpec = {
  name: 'a',
  version: '1.0.0',
  probationMs: 30_000,
  volumes: ['data'],
  networks: ['default'],
  components: [
    minimalComponent('status', 'r.example/s@sha256:' + 'a'.repeat(64), {
      mounts: [
        { type: 'volume', source: 'data', target: '/data', readOnly: false },
        { type: 'bind', source: '/run/flotilla', target: '/run/flotilla', readOnly: true },
        { type: 'bind', source: '/run/flotilla/../../etc', target: '/etc-host', readOnly: true },
      ],
      devices: ['/dev/i2c-1:/dev/i2c-1:rw'],
      capAdd: ['cap_net_admin'],
    }),
  ],
};

const policy = (p: Partial<HostPolicy>): HostPolicy => ({ ...EMPTY_HOST_POLICY, ...p });

describe('hostPowerViolations', () => {
  it('names every bind mount, device and capability the empty policy forbids, at its manifest field; volumes are not powers', () => {
    expect(hostPowerViolations(assembly, EMPTY_HOST_POLICY).map((v) => [v.path, v.value])).toEqual([
      ['services.status.volumes.1', '/run/flotilla'],
      ['services.status.volumes.2', '/run/flotilla/../../etc'],
      ['services.status.devices.0', '/dev/i2c-1'],
      ['services.status.cap_add.0', 'NET_ADMIN'],
    ]);
  });

  it('allows a path and what is under it, never a way out of it with ".."', () => {
    const v = hostPowerViolations(assembly, policy({ bindMounts: ['/run/flotilla'], devices: ['/dev'], capabilities: ['NET_ADMIN'] }));
    expect(v.map((x) => x.path)).toEqual(['services.status.volumes.2']);
    expect(hostPowerViolations(assembly, policy({ bindMounts: ['/run/flot'] })).map((x) => x.path)).toContain('services.status.volumes.1');
  });

  it('lets "/" allow any path and ALL any capability', () => {
    expect(hostPowerViolations(assembly, policy({ bindMounts: ['/'], devices: ['/'], capabilities: ['ALL'] }))).toEqual([]);
  });
});
