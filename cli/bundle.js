'use strict';
// The flotilla command as one folder, dist/flotilla/: the CLI, @flotilla/shared and their npm
// dependencies, bundled by esbuild into ES module chunks (flotilla.mjs and the chunks it loads). What
// `bin/flotilla.js` runs in a checkout (rebuilt when a source is newer) and what `npm pack` ships,
// so the packed CLI installs with Node alone and no registry.
const { readFileSync, readdirSync, rmSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = __dirname;
const shared = join(root, '..', 'shared');
const OUT_DIR = join(root, 'dist', 'flotilla');
const OUT = join(OUT_DIR, 'flotilla.mjs');
const SOURCES = [join(root, 'src'), join(shared, 'src'), join(root, 'package.json'), join(shared, 'package.json')];

/** Newest modification time among the sources (files under the folders, recursively). */
function newestSource(paths = SOURCES) {
  let newest = 0;
  for (const path of paths) {
    const info = statSync(path);
    if (info.isDirectory()) newest = Math.max(newest, newestSource(readdirSync(path).map((name) => join(path, name))));
    else newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

function isStale() {
  try {
    return statSync(OUT).mtimeMs < newestSource();
  } catch {
    return true;
  }
}

/**
 * `@flotilla/shared` and its entries (`/http-client`, `/device`) from their sources, as its
 * package.json exports name them (dist/x.js is src/x.ts), so a fresh checkout bundles before
 * anything is built. Its files are marked free of side effects, which they are (schemas and pure
 * functions): a command that takes one constant of the full entry gets that constant's file, not
 * every schema of the entry, built when the command's part of the bundle first runs.
 */
const sharedFromSources = {
  name: 'shared-from-sources',
  setup(build) {
    const { exports } = JSON.parse(readFileSync(join(shared, 'package.json'), 'utf8'));
    build.onResolve({ filter: /^@flotilla\/shared(\/|$)/ }, (args) => {
      const entry = exports[`.${args.path.slice('@flotilla/shared'.length)}`];
      if (!entry) return { errors: [{ text: `${args.path} is not an entry of @flotilla/shared (its package.json exports)` }] };
      return { path: join(shared, entry.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')), sideEffects: false };
    });
    const sources = join(shared, 'src');
    build.onResolve({ filter: /^\./ }, async (args) => {
      if (args.pluginData === sharedFromSources || !args.importer.startsWith(sources)) return undefined;
      const { kind, resolveDir, importer } = args;
      const found = await build.resolve(args.path, { kind, resolveDir, importer, pluginData: sharedFromSources });
      return found.errors.length > 0 ? { errors: found.errors } : { path: found.path, sideEffects: false };
    });
  },
};

const BANNER = [
  "import { createRequire as __flotillaRequire } from 'node:module';",
  "import { fileURLToPath as __flotillaPath } from 'node:url';",
  'const require = __flotillaRequire(import.meta.url);',
  'const __filename = __flotillaPath(import.meta.url);',
  "const __dirname = require('node:path').dirname(__filename);",
  'const module = undefined;',
].join(' ');

/** What the bundle is built with; `overrides` for a test that inspects it. */
function options(overrides = {}) {
  return {
    entryPoints: { flotilla: join(root, 'src', 'main.ts') },
    outdir: OUT_DIR,
    bundle: true,
    platform: 'node',
    target: 'node20',
    // Chunks split at each dynamic import() (esbuild splits ES modules only): a command reads and
    // compiles the start's chunks and its own, not the megabytes of the image tools and the
    // simulator. One CommonJS file that runs its parts lazily still cost its whole 3 MB to compile
    // at every start (BENCHMARKS.md "cli start").
    format: 'esm',
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunk-[hash]',
    // What CommonJS code in the chunks expects of its module: `require` (mqtt, ws, node builtins),
    // `__dirname`, and `require.main === module` (the sources' run-as-a-script line, never true here).
    banner: { js: BANNER },
    plugins: [sharedFromSources],
    // esbuild bundles the agent for board images: a native binary, loaded only by `flotilla image`.
    // ws's optional native speed-ups are tried and skipped when absent.
    external: ['esbuild', 'bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
    ...overrides,
  };
}

/** Every command's module (commands/index.ts) runs on the first use of its command, not at start. */
function bundle() {
  rmSync(OUT_DIR, { recursive: true, force: true });
  return require('esbuild').build(options());
}

module.exports = { OUT, bundle, isStale, options };

if (require.main === module) bundle();
