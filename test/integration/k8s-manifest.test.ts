import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

// deploy/k8s is not run anywhere (no Kubernetes cluster on the test machine): this checks it
// statically, so that it cannot drift from the tested compose shape (deploy/ha) or refer to a
// name, port or volume it does not declare.
const root = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Container {
  name: string;
  env?: { name: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
}
interface Resource {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    selector?: Record<string, string> & { matchLabels?: Record<string, string> };
    ports?: { name: string; targetPort: string }[];
    replicas?: number;
    serviceName?: string;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}

const resources = parseAllDocuments(read('deploy/k8s/flotilla.yaml')).map((d) => d.toJS() as Resource);
const kustomization = parse(read('deploy/k8s/kustomization.yaml')) as {
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
};
const workloads = resources.filter((r) => r.kind === 'StatefulSet');
const named = (kind: string) => new Set(resources.filter((r) => r.kind === kind).map((r) => r.metadata.name));
const workload = (name: string) => workloads.find((w) => w.metadata.name === name)!;
const allContainers = (w: Resource) => [...w.spec!.template!.spec.containers, ...(w.spec!.template!.spec.initContainers ?? [])];
/** Every value under `key`, anywhere in `tree`. */
function found(tree: unknown, key: string): unknown[] {
  if (Array.isArray(tree)) return tree.flatMap((item) => found(item, key));
  if (tree === null || typeof tree !== 'object') return [];
  return Object.entries(tree).flatMap(([k, v]) => (k === key ? [v] : found(v, key)));
}
/** The Secret an operator creates (deploy/README.md) and the keys the manifest may read of it. */
const USER_SECRET = { name: 'flotilla-secrets', keys: ['secret', 'api-key'] };

describe('deploy/k8s (static checks; never applied to a cluster here)', () => {
  it('puts everything in the namespace its RabbitMQ node names are made of', () => {
    for (const r of resources.filter((r) => r.kind !== 'Namespace'))
      expect([r.metadata.name, r.metadata.namespace]).toEqual([r.metadata.name, 'flotilla']);
    expect(kustomization.resources).toEqual(['flotilla.yaml']);
  });

  it('gives every Service pods to select and a named port on them to reach', () => {
    for (const service of resources.filter((r) => r.kind === 'Service')) {
      const selector = service.spec!.selector!;
      const targets = workloads.filter((w) => Object.entries(selector).every(([k, v]) => w.spec!.template!.metadata.labels[k] === v));
      expect([service.metadata.name, targets.length]).toEqual([service.metadata.name, 1]);
      const portNames = targets[0]!.spec!.template!.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
      for (const port of service.spec!.ports!) expect(portNames).toContain(port.targetPort);
    }
    for (const w of workloads) {
      expect(w.spec!.selector!.matchLabels).toEqual(w.spec!.template!.metadata.labels);
      expect(named('Service')).toContain(w.spec!.serviceName);
    }
  });

  it('declares every volume, ConfigMap and claim it mounts, and reads only the documented Secret keys', () => {
    const configMaps = new Set([...named('ConfigMap'), ...kustomization.configMapGenerator.map((g) => g.name)]);
    for (const w of workloads) {
      const spec = w.spec!.template!.spec;
      const volumes = new Set([
        ...(spec.volumes ?? []).map((v) => v.name),
        ...(w.spec!.volumeClaimTemplates ?? []).map((t) => t.metadata.name),
      ]);
      for (const v of spec.volumes ?? []) {
        if (v.configMap) expect(configMaps).toContain(v.configMap.name);
        if (v.persistentVolumeClaim) expect(named('PersistentVolumeClaim')).toContain(v.persistentVolumeClaim.claimName);
      }
      for (const c of allContainers(w)) {
        for (const m of c.volumeMounts ?? []) expect(volumes).toContain(m.name);
        for (const from of c.envFrom ?? []) expect(configMaps).toContain(from.configMapRef!.name);
      }
    }
    const secretRefs = resources.flatMap((r) => found(r, 'secretKeyRef') as { name: string; key: string }[]);
    expect(secretRefs.length).toBeGreaterThan(0);
    for (const { name, key } of secretRefs) expect([name, USER_SECRET.keys.includes(key)]).toEqual([USER_SECRET.name, true]);
    for (const g of kustomization.configMapGenerator) for (const f of g.files) expect(() => read(join('deploy/k8s', f))).not.toThrow();
  });

  it('lets only the RabbitMQ nodes reach the auth listener', () => {
    const policy = resources.find((r) => r.kind === 'NetworkPolicy') as unknown as {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        ingress: { from?: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: string }[] }[];
      };
    };
    expect(policy.spec.podSelector.matchLabels).toEqual(workload('flotilla-control-plane').spec!.template!.metadata.labels);
    const rules = policy.spec.ingress.filter((rule) => rule.ports.some((p) => p.port === 'broker-auth'));
    expect(rules.map((rule) => rule.from?.map((f) => f.podSelector.matchLabels))).toEqual([
      [workload('flotilla-rabbitmq').spec!.template!.metadata.labels],
    ]);
  });

  it('gives the control plane every setting the compose replicas get, and the broker URLs of every node', () => {
    const compose = parse(read('deploy/ha/compose.yml'), { merge: true }) as { services: { cp1: { environment: Record<string, string> } } };
    const cp = allContainers(workload('flotilla-control-plane')).find((c) => c.name === 'control-plane')!;
    const settings = (
      resources.find((r) => r.kind === 'ConfigMap' && r.metadata.name === 'flotilla-settings') as unknown as {
        data: Record<string, string>;
      }
    ).data;
    const k8sEnv = new Set([...cp.env!.map((e) => e.name), ...Object.keys(settings)]);
    expect(Object.keys(compose.services.cp1.environment).filter((name) => !k8sEnv.has(name))).toEqual([]);
    const nodes = workload('flotilla-rabbitmq').spec!.replicas!;
    const value = (name: string) => (cp.env as { name: string; value?: string }[]).find((e) => e.name === name)!.value!;
    for (const url of ['FLOTILLA_RABBITMQ_URL', 'FLOTILLA_RABBITMQ_MANAGEMENT_URL'])
      expect(
        value(url)
          .split(',')
          .map((u) => new URL(u).hostname),
      ).toEqual(Array.from({ length: nodes }, (_, i) => `flotilla-rabbitmq-${i}.flotilla-rabbitmq`));
  });

  it("runs deploy/ha's RabbitMQ configuration, with only the cluster's names changed", () => {
    const lines = (path: string) =>
      read(path)
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'));
    const renamed = /^(auth_http\.\w+_path|cluster_formation\.classic_config\.nodes\.\d+) = /;
    const ha = lines('deploy/ha/rabbitmq/rabbitmq.conf');
    const k8s = lines('deploy/k8s/rabbitmq/rabbitmq.conf');
    expect(k8s.filter((l) => !renamed.test(l))).toEqual(ha.filter((l) => !renamed.test(l)));
    expect(read('deploy/k8s/rabbitmq/enabled_plugins')).toBe(read('deploy/ha/rabbitmq/enabled_plugins'));

    const nodes = workload('flotilla-rabbitmq').spec!.replicas!;
    expect(k8s.filter((l) => l.startsWith('cluster_formation.classic_config.nodes.'))).toEqual(
      Array.from(
        { length: nodes },
        (_, i) =>
          `cluster_formation.classic_config.nodes.${i + 1} = rabbit@flotilla-rabbitmq-${i}.flotilla-rabbitmq.flotilla.svc.cluster.local`,
      ),
    );
    const auth = resources.find((r) => r.kind === 'Service' && r.metadata.name === 'flotilla-broker-auth')!;
    for (const l of k8s.filter((l) => l.startsWith('auth_http.'))) {
      const url = l.split(' = ')[1]!;
      if (!url.startsWith('http')) continue;
      expect(new URL(url).host).toBe(`${auth.metadata.name}:8089`);
    }
  });
});
