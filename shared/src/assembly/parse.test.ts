import { parseAssemblyYaml, shellWords } from './parse';
import { minimalComponent } from './spec';

const minimal = `
name: demo
x-flotilla:
  version: 1.0.0
services:
  web:
    image: 127.0.0.1:5000/web@sha256:${'a'.repeat(64)}
`;

describe('parseAssemblyYaml', () => {
  it('normalizes a service with only an image to minimalComponent', () => {
    const r = parseAssemblyYaml(minimal);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.components).toEqual([minimalComponent('web', `127.0.0.1:5000/web@sha256:${'a'.repeat(64)}`)]);
  });

  it('normalizes a compose file with an x-flotilla block', () => {
    const r = parseAssemblyYaml(`
name: demo
x-flotilla:
  version: 1.2.0
  boards: [raspberrypi5]
  update: { strategy: hand-over, probation: 1m30s }
x-common: &env { LOG: debug }
services:
  broker:
    image: eclipse-mosquitto
    healthcheck: { test: "nc -z localhost 1883", interval: 5s, retries: 3 }
  web:
    image: web:1
    environment: [B=2, A=1=x]
    ports: ["8080:80", "127.0.0.1:53:53/udp", 9000]
    volumes: ["data:/data:ro", "/dev/shm:/shm"]
    command: sh -c 'echo "hi there"'
    depends_on: { broker: { condition: service_healthy } }
    mem_limit: 64m
    cpus: "0.5"
    x-flotilla: { update: download-then-switch }
volumes: { data: }
`);
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.probationMs).toBe(90_000);
    expect(r.spec.boards).toEqual(['raspberrypi5']);
    expect(r.spec.volumes).toEqual(['data']);
    const [broker, web] = r.spec.components;
    expect(broker!.update).toBe('hand-over');
    expect(broker!.healthcheck).toEqual({ test: ['CMD-SHELL', 'nc -z localhost 1883'], intervalMs: 5000, retries: 3 });
    expect(web).toMatchObject({
      environment: { A: '1=x', B: '2' },
      ports: [
        { container: 80, host: 8080, protocol: 'tcp' },
        { container: 53, host: 53, hostIp: '127.0.0.1', protocol: 'udp' },
        { container: 9000, protocol: 'tcp' },
      ],
      mounts: [
        { type: 'volume', source: 'data', target: '/data', readOnly: true },
        { type: 'bind', source: '/dev/shm', target: '/shm', readOnly: false },
      ],
      command: ['sh', '-c', 'echo "hi there"'],
      dependsOn: { broker: 'service_healthy' },
      memLimitBytes: 64 * 1024 * 1024,
      cpus: 0.5,
      restart: 'unless-stopped',
      update: 'download-then-switch',
      networks: ['default'],
    });
  });

  it('gives the path of every bad field', () => {
    const r = parseAssemblyYaml(`
name: Demo!
x-flotilla: { version: one }
services:
  web:
    image: web
    ports: ["http"]
    depends_on: [db]
    volumes: ["logs:/var/log"]
    privileged: true
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'x-flotilla.version', 'services.web.ports.0', 'services.web']));
    expect(r.issues.find((i) => i.path === 'services.web')!.message).toMatch(/privileged/);
  });

  it('checks references between services, volumes and networks after the shape is valid', () => {
    const r = parseAssemblyYaml(`${minimal}    depends_on: [db]
    volumes: ["logs:/var/log"]
    networks: [backend]
`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues).toEqual([
      { path: 'services.web.depends_on.db', message: 'unknown service "db"' },
      { path: 'services.web.volumes.0', message: 'volume "logs" is not declared under top-level "volumes"' },
      { path: 'services.web.networks.0', message: 'network "backend" is not declared under top-level "networks"' },
    ]);
  });

  it('finds dependency cycles', () => {
    const r = parseAssemblyYaml(`
name: demo
x-flotilla: { version: 1.0.0 }
services:
  a: { image: a, depends_on: [b] }
  b: { image: b, depends_on: [a] }
`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.message).toMatch(/cycle: a -> b -> a/);
  });

  it('reports YAML syntax errors with a line number', () => {
    const r = parseAssemblyYaml('name: [unclosed\n');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]!.message).toMatch(/^YAML: .*line/);
  });

  it('refuses a document that is not a mapping, and an empty services map', () => {
    expect(parseAssemblyYaml('just a string').ok).toBe(false);
    const r = parseAssemblyYaml('name: x\nx-flotilla: {version: 1.0.0}\nservices: {}\n');
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues[0]).toEqual({
        path: 'services',
        message: 'an assembly needs at least one service, or an OS image (x-flotilla.os) for an OS-only release',
      });
  });

  const osEntry = (board: string, sha = 'b'.repeat(64)) =>
    `    - { board: ${board}, version: "2.0.0", url: "https://os.example/${board}.img", sha256: "${sha}", size: 134217728 }`;

  it('takes an OS-only release: OS images by board, no components, no default network', () => {
    const r = parseAssemblyYaml(
      `name: os\nservices: {}\nx-flotilla:\n  version: 2.0.0\n  os:\n${osEntry('raspberrypi5')}\n${osEntry('qemu-arm64-virt')}\n`,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    expect(r.spec.components).toEqual([]);
    expect(r.spec.networks).toEqual([]);
    expect(r.spec.os!.map((o) => o.board)).toEqual(['qemu-arm64-virt', 'raspberrypi5']);
    expect(r.spec.os![0]).toMatchObject({ version: '2.0.0', size: 134217728, sha256: 'b'.repeat(64) });
  });

  it('refuses two OS images for one board, a bad digest, and unknown keys in an OS entry', () => {
    const two = parseAssemblyYaml(`name: os\nservices: {}\nx-flotilla:\n  version: 2.0.0\n  os:\n${osEntry('rpi')}\n${osEntry('rpi')}\n`);
    expect(two.ok).toBe(false);
    if (!two.ok) expect(two.issues).toContainEqual({ path: 'x-flotilla.os', message: 'one OS image per board' });
    const bad = parseAssemblyYaml(`name: os\nservices: {}\nx-flotilla:\n  version: 2.0.0\n  os:\n${osEntry('rpi', 'XYZ')}\n`);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues[0]).toEqual({ path: 'x-flotilla.os.0.sha256', message: 'expected 64 lowercase hex digits' });
  });
});

describe('Compose interpolation', () => {
  it('turns $$ into a literal $ and refuses variables, with their path', () => {
    const ok = parseAssemblyYaml(`${minimal}    command: ["sh", "-c", "echo $$HOME"]\n`);
    if (!ok.ok) throw new Error(JSON.stringify(ok.issues));
    expect(ok.spec.components[0]!.command).toEqual(['sh', '-c', 'echo $HOME']);
    const bad = parseAssemblyYaml(`${minimal}    environment: { TAG: "\${TAG}" }\n`);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues).toEqual([{ path: 'services.web.environment.TAG', message: expect.stringMatching(/interpolation/) }]);
  });
});

describe('shellWords', () => {
  it('splits like a shell without expanding', () => {
    expect(shellWords(`a 'b c' "d \\"e\\"" f\\ g ''`)).toEqual(['a', 'b c', 'd "e"', 'f g', '']);
  });
});
