import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Plugin } from 'esbuild';
import { ImageToolError } from './errors';

/**
 * `@flotilla/shared/device` in the agent's bundle, with each protocol file required on the first
 * use of one of its exports instead of all of them when the agent starts. tsc compiles the
 * entry's `export *` lines into eager `require`s, and every file builds its zod schemas when it
 * loads: schemas of paths a device may never take (registration once registered, OS images,
 * boards, deltas) stayed resident for good (BENCHMARKS.md "agent", about 0.3 MB). The agent
 * reads the entry's exports as properties at call time (tsc's `shared_1.X`), which getters serve.
 *
 * The names each file exports are read by requiring it here, in the build, so the bundle holds
 * exactly what `export *` would have copied (first file wins, as in tsc's __exportStar; named
 * re-exports before any `export *`, as TypeScript ranks them).
 */
export function lazySharedDevice(): Plugin {
  return {
    name: 'lazy-shared-device',
    setup(build) {
      build.onLoad({ filter: /shared\/dist\/device\.js$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const dir = dirname(args.path);
        const load = createRequire(args.path);
        const named = new Map<string, { path: string; names: string[] }>();
        for (const [, binding, path] of source.matchAll(/^var (\w+) = require\("([^"]+)"\);$/gm))
          named.set(binding!, { path: path!, names: [] });
        for (const [, name, binding] of source.matchAll(
          /^Object\.defineProperty\(exports, "(\w+)", \{ enumerable: true, get: function \(\) \{ return (\w+)\.\w+; \} \}\);$/gm,
        )) {
          named.get(binding!)?.names.push(name!);
        }
        const starred = [...source.matchAll(/^__exportStar\(require\("([^"]+)"\), exports\);$/gm)].map(([, path]) => ({
          path: path!,
          names: Object.keys(load(path!) as object).filter((name) => name !== 'default' && name !== '__esModule'),
        }));
        const groups = [...named.values(), ...starred];
        const requires = source.match(/require\(/g)?.length ?? 0;
        if (starred.length === 0 || requires !== groups.length || [...named.values()].some((g) => g.names.length === 0))
          throw new ImageToolError(
            'agent-bundle-failed',
            `${args.path} no longer has the shape tsc gave it: update agent-bundle-lazy-shared.ts`,
          );
        const contents = [
          '"use strict";',
          'Object.defineProperty(exports, "__esModule", { value: true });',
          'function lazy(load, names) {',
          '  let m;',
          '  for (const n of names)',
          '    if (!Object.prototype.hasOwnProperty.call(exports, n))',
          '      Object.defineProperty(exports, n, { enumerable: true, get: () => (m ??= load())[n] });',
          '}',
          ...groups.map((g) => `lazy(() => require(${JSON.stringify(g.path)}), ${JSON.stringify(g.names)});`),
        ].join('\n');
        return { contents, loader: 'js', resolveDir: dir };
      });
    },
  };
}
