import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ComponentManifest, parseAssemblyYaml } from '@flotilla/shared';
import { REPO_ROOT, ORIGIN_COMPONENTS, componentNames, componentYaml, lookupOf, readOriginFile } from './origin-files';

// The committed files only (no images needed): the components load as library manifests and
// origin's assembly resolves against them. Images are checked in origin-images.test.ts.
const FAKE_DIGEST = `sha256:${'a'.repeat(64)}`;
const withFakeDigest = (name: string) => {
  const yaml = componentYaml(name);
  return { ...yaml, image: `${String(yaml.image).split(':').slice(0, -1).join(':')}@${FAKE_DIGEST}` };
};

describe('origin components', () => {
  it('has one folder per component, each with a manifest, a build recipe and a README', () => {
    expect(componentNames()).toEqual([...ORIGIN_COMPONENTS]);
    for (const name of componentNames()) {
      const files = readdirSync(join(REPO_ROOT, 'components', name));
      expect(files).toEqual(expect.arrayContaining(['component.yaml', 'recipe.sh', 'README.md', 'rootfs']));
    }
  });

  it.each([...ORIGIN_COMPONENTS])('%s is a library component once its image is pinned', (name) => {
    const yaml = componentYaml(name);
    expect(yaml.name).toBe(name);
    expect(yaml.image).toBe(`127.0.0.1:5000/flotilla/${name}:${String(yaml.version)}`);
    const result = ComponentManifest.safeParse(withFakeDigest(name));
    if (!result.success) throw new Error(`${name}: ${JSON.stringify(result.error.issues, null, 2)}`);
    const c = result.data;
    expect(c.healthcheck?.test).toEqual(['CMD', `${name}-health`]);
    // Every default the image starts with is a documented configuration key, and agrees with it.
    const env = c.environment as Record<string, string>;
    expect(Object.keys(c.config).sort()).toEqual(Object.keys(env).sort());
    for (const [key, spec] of Object.entries(c.config)) {
      expect(spec.description).toBeTruthy();
      expect(String(spec.default)).toBe(env[key]);
    }
  });
});

describe('assemblies/origin/assembly.yaml', () => {
  const text = readOriginFile('assembly.yaml');
  const lookup = lookupOf([...ORIGIN_COMPONENTS].map(withFakeDigest));

  it('wires the three components: network, broker volume, healthy dependencies', () => {
    const result = parseAssemblyYaml(text, { components: lookup });
    if (!result.ok) throw new Error(JSON.stringify(result.issues, null, 2));
    const { spec } = result;
    expect(spec.name).toBe('origin');
    expect(spec.components.map((c) => c.name)).toEqual(['device-status', 'mqtt-broker', 'sensor-sim']);
    expect(spec.volumes).toEqual(['mqtt-data']);
    const byName = Object.fromEntries(spec.components.map((c) => [c.name, c]));
    expect(byName['mqtt-broker']!.mounts).toEqual([{ type: 'volume', source: 'mqtt-data', target: '/var/lib/mosquitto', readOnly: false }]);
    expect(byName['mqtt-broker']!.ports).toEqual([{ container: 1883, host: 1883, hostIp: '127.0.0.1', protocol: 'tcp' }]);
    expect(byName['sensor-sim']!.dependsOn).toEqual({ 'mqtt-broker': 'service_healthy' });
    expect(byName['device-status']!.dependsOn).toEqual({ 'mqtt-broker': 'service_healthy' });
    expect(byName['device-status']!.mounts).toEqual([{ type: 'bind', source: '/run/flotilla', target: '/run/flotilla', readOnly: true }]);
    for (const c of spec.components) {
      expect(c.networks).toEqual(['origin']);
      expect(c.image).toBe(`127.0.0.1:5000/flotilla/${c.name}@${FAKE_DIGEST}`);
      expect(c.healthcheck?.test).toEqual(['CMD', `${c.name}-health`]);
    }
  });

  it('lists every board spec in firmware-specs/ (all arm64 or amd64, the platforms built)', () => {
    const dir = join(REPO_ROOT, 'firmware-specs');
    const specs = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => parse(readFileSync(join(dir, f), 'utf8')) as { name: string; arch: string });
    expect(specs.every((s) => ['arm64', 'amd64'].includes(s.arch))).toBe(true);
    const result = parseAssemblyYaml(text, { components: lookup });
    expect(result.ok && [...(result.spec.boards ?? [])].sort()).toEqual(specs.map((s) => s.name).sort());
  });

  it('needs the library: without it the component references are refused', () => {
    const result = parseAssemblyYaml(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((i) => i.path)).toContain('services.mqtt-broker.x-flotilla.component');
  });
});
