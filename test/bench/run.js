#!/usr/bin/env node
// `npm run bench -- NAME [args…]`: runs the benchmark `*/bench/NAME.bench.ts` (agent/,
// control-plane/, test/) with TypeScript compiled on the fly by SWC. Each benchmark is
// bounded in time, talks only to 127.0.0.1, prints a table and the machine it ran on.
const { readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..', '..');
const dirs = ['agent/bench', 'control-plane/bench', 'test/bench'].map((d) => join(root, d)).filter(existsSync);
const benches = new Map(
  dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.bench.ts'))
      .map((f) => [f.replace(/\.bench\.ts$/, ''), join(d, f)]),
  ),
);

const [name, ...args] = process.argv.slice(2);
if (!name || !benches.has(name)) {
  console.error(`usage: npm run bench -- NAME [args]\nbenchmarks: ${[...benches.keys()].sort().join(', ') || '(none)'}`);
  process.exit(name ? 2 : 0);
}
const result = spawnSync(process.execPath, ['--expose-gc', '-r', '@swc-node/register', benches.get(name), ...args], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, SWC_NODE_PROJECT: join(root, 'tsconfig.json') },
});
process.exit(result.status ?? 1);
