import { readFileSync } from 'node:fs';

/**
 * Self time per function of a V8 `.cpuprofile` (from `node --cpu-prof`), top N, and per package:
 * `node -r @swc-node/register control-plane/bench/support/profile-summary.ts FILE [N] [--between FN]`.
 * `--between FN` keeps only the samples from the first to the last one whose stack holds a
 * function named FN (e.g. `seal`: the fan-out's window, not the connects before it).
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const between = args.includes('--between') ? args.splice(args.indexOf('--between'), 2)[1] : undefined;
const [file, top = '25'] = args;
if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [N] [--between FN]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const holds = (id: number, fn: string): boolean => {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) if (byId.get(at)!.callFrame.functionName === fn) return true;
  return false;
};
let from = 0;
let to = profile.samples.length - 1;
if (between) {
  from = profile.samples.findIndex((id) => holds(id, between));
  while (to > from && !holds(profile.samples[to]!, between)) to--;
  if (from < 0) throw new Error(`no sample holds ${between}`);
}
const self = new Map<string, number>();
const perPackage = new Map<string, number>();
let total = 0;
for (let i = from; i <= to; i++) {
  const n = byId.get(profile.samples[i]!)!;
  const where = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*?\/(control-plane|shared|cli)\//, '$1/');
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${where}:${n.callFrame.lineNumber + 1}`;
  const pkg = !where
    ? n.callFrame.functionName
    : where.startsWith('node:')
      ? 'node:' + where.split(/[:/]/)[1]
      : where
          .split('/')
          .slice(0, where.startsWith('@') ? 2 : 1)
          .join('/');
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + dt);
  total += dt;
}
const print = (rows: Map<string, number>): void => {
  for (const [key, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1e6).toFixed(2).padStart(6)} s  ${key}`);
  }
};
console.log(`total ${(total / 1e6).toFixed(1)} s sampled${between ? ` (samples between the first and last holding ${between})` : ''}`);
print(self);
console.log('per package (self time):');
print(perPackage);
