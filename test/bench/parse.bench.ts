import { parseAssemblyYaml, contentDigest } from '@flotilla/shared';
import { machineLine, printTable } from './machine';

// How long the control plane spends turning an assembly.yaml into a release (parse,
// validate, normalize, digest): it runs on every publish and every dry-run plan.
const yaml = `
name: bench
x-flotilla: { version: 1.0.0, update: { probation: 30s } }
services:
${Array.from(
  { length: 20 },
  (_, i) => `  svc${i}:
    image: 127.0.0.1:5000/svc${i}@sha256:${'a'.repeat(64)}
    environment: { A: "1", B: "2", C: "3" }
    ports: ["${8000 + i}:80"]
    healthcheck: { test: ["CMD", "true"], interval: 5s }
    depends_on: ${i === 0 ? '[]' : `{ svc${i - 1}: { condition: service_healthy } }`}
`,
).join('')}`;

function measure(label: string, iterations: number, fn: () => unknown) {
  fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { operation: label, iterations, 'total ms': ms, 'µs each': (ms * 1000) / iterations };
}

const parsed = parseAssemblyYaml(yaml);
if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
console.log(machineLine());
console.log(`assembly: 20 services, ${yaml.length} bytes of YAML\n`);
printTable([
  measure('parseAssemblyYaml', 500, () => parseAssemblyYaml(yaml)),
  measure('contentDigest(spec)', 2000, () => contentDigest(parsed.spec)),
]);
