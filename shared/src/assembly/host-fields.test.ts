import { ComponentManifest } from './component';
import { loadYaml } from './load-yaml';
import { parseAssemblyYaml } from './parse';

const DIGEST_IMAGE = `registry.example/c@sha256:${'a'.repeat(64)}`;

const service = (fields: string) => `name: demo\nx-flotilla: { version: 1.0.0 }\nservices:\n  web:\n    image: busybox\n${fields}`;

function issuesOf(yaml: string): { path: string; message: string }[] {
  const r = parseAssemblyYaml(yaml);
  return r.ok ? [] : r.issues;
}

function refused(fields: string): string[] {
  return issuesOf(service(fields)).map((i) => i.path);
}

describe('manifest fields that reach the host or the engine', () => {
  it('takes ordinary values of every such field', () => {
    expect(
      refused(
        [
          '    volumes: ["/run/flotilla:/run/flotilla:ro", "/:/host:ro"]',
          '    devices: ["/dev/i2c-1", "/dev/ttyUSB0:/dev/serial", "/dev/gpiomem:/dev/gpiomem:rw"]',
          '    labels: { org.example.team: kiosk, flotilla.example: x }',
          '    environment: { A: "multi\\nline" }',
          '    cpus: 0.5',
          '    mem_limit: 64m',
          '    ports: ["127.0.0.1:8080:80", "65535:65535/udp"]',
          '    healthcheck: { test: ["CMD", "true"], interval: 30s }',
          '',
        ].join('\n'),
      ),
    ).toEqual([]);
  });

  it('refuses bind mount and device paths the host policy would judge otherwise than the kernel', () => {
    expect(refused('    volumes: ["/run/flotilla/../../etc:/x", "/run/flotilla/:/y", "//etc:/z", "/run/./x:/w"]\n')).toEqual([
      'services.web.volumes.0',
      'services.web.volumes.1',
      'services.web.volumes.2',
      'services.web.volumes.3',
    ]);
    expect(issuesOf(service('    volumes: ["/run/flotilla/../../etc:/x"]\n'))[0]!.message).toMatch(/write "\/etc"/);
    expect(
      refused('    devices: ["dev/sda", "/dev/i2c-1/../sda", "/dev/a:rwm", "/dev/a:/dev/b:xyz", ":/dev/b", "/dev/a:/dev/b:rw:x"]\n'),
    ).toEqual([0, 1, 2, 3, 4, 5].map((i) => `services.web.devices.${i}`));
  });

  it("refuses labels in the agent's own namespace, in either spelling and case", () => {
    expect(refused('    labels: { io.flotilla.managed: "false" }\n')).toEqual(['services.web.labels.io.flotilla.managed']);
    expect(refused('    labels: ["IO.Flotilla.component=db", "io.flotilla.spec-hash"]\n')).toEqual([
      'services.web.labels.IO.Flotilla.component',
      'services.web.labels.io.flotilla.spec-hash',
    ]);
  });

  it('refuses an environment name with "=", which the engine would split elsewhere', () => {
    expect(refused('    environment: { "PATH=/evil:/bin": x }\n')).toEqual(['services.web.environment.PATH=/evil:/bin']);
  });

  it('refuses image references the engine would not parse, or would read as other API paths', () => {
    for (const image of ['busy box', 'BUSYBOX', 'busybox:../../x', 'busybox@sha256:xyz', 'x?force=1', 'x/../containers/y', 'a:b:c', '-x']) {
      const paths = issuesOf(service('').replace('image: busybox', `image: "${image}"`)).map((i) => i.path);
      expect({ image, paths }).toEqual({ image, paths: ['services.web.image'] });
    }
  });

  it('refuses sizes, counts and durations the engine refuses or cannot hold', () => {
    expect(refused('    cpus: 100000000\n')).toEqual(['services.web.cpus']);
    expect([...new Set(refused('    cpus: 0\n'))]).toEqual(['services.web.cpus']);
    expect(refused('    mem_limit: 1\n')).toEqual(['services.web.mem_limit']);
    expect(refused('    mem_limit: 99999999999999g\n')).toEqual(['services.web.mem_limit']);
    expect(refused('    ports: ["999.1.1.1:80:80", "99999:80", "80:0"]\n')).toEqual([0, 1, 2].map((i) => `services.web.ports.${i}`));
    expect(refused('    healthcheck: { test: ["rm", "-rf"], interval: 99999999h }\n')).toEqual([
      'services.web.healthcheck.test',
      'services.web.healthcheck.interval',
    ]);
    const many = Array.from({ length: 257 }, (_, i) => `  s${i}: { image: busybox }`).join('\n');
    expect(issuesOf(`name: demo\nx-flotilla: { version: 1.0.0 }\nservices:\n${many}\n`)).toEqual([
      { path: 'services', message: 'at most 256 services in one assembly' },
    ]);
  });

  it('refuses every Compose key that would give a container more of the host, in a service and in a library component', () => {
    const keys = [
      'privileged: true',
      'network_mode: host',
      'pid: host',
      'ipc: host',
      'uts: host',
      'userns_mode: host',
      'cgroup: host',
      'cgroup_parent: /',
      'security_opt: ["apparmor=unconfined"]',
      'sysctls: { net.ipv4.ip_forward: 1 }',
      'device_cgroup_rules: ["a *:* rwm"]',
      'group_add: ["0"]',
      'ulimits: { nofile: 1048576 }',
      'runtime: runc',
      'extra_hosts: ["registry:10.0.0.1"]',
      'tmpfs: ["/run"]',
      'shm_size: 1g',
      'user: root',
      'cap_drop: []',
      'volumes_from: [other]',
      'gpus: all',
      'isolation: default',
      'oom_kill_disable: true',
      'oom_score_adj: -1000',
      'pids_limit: -1',
      'storage_opt: { size: 1g }',
      'volumes: [{ type: bind, source: /, target: /host }]',
    ];
    expect(ComponentManifest.safeParse({ name: 'c', version: '1.0.0', image: DIGEST_IMAGE }).success).toBe(true);
    for (const key of keys) {
      const issues = issuesOf(service(`    ${key}\n`));
      const value = loadYaml(key);
      const component = ComponentManifest.safeParse({
        name: 'c',
        version: '1.0.0',
        image: DIGEST_IMAGE,
        ...(value.ok ? (value.value as object) : {}),
      });
      expect({ key, refused: issues.length > 0, component: component.success }).toEqual({ key, refused: true, component: false });
    }
  });
});
