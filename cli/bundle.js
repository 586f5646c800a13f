'use strict';
// The flotilla command as one file, dist/flotilla.js: the CLI, @flotilla/shared and their npm
// dependencies, bundled by esbuild. What `bin/flotilla.js` runs in a checkout (rebuilt when a source
// is newer) and what `npm pack` ships, so the packed CLI installs with Node alone and no registry.
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = __dirname;
const shared = join(root, '..', 'shared');
const OUT = join(root, 'dist', 'flotilla.js');
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

function bundle() {
  require('esbuild').buildSync({
    entryPoints: [join(root, 'src', 'main.ts')],
    outfile: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    alias: { '@flotilla/shared': join(shared, 'src', 'index.ts') },
    // esbuild bundles the agent for board images: a native binary, loaded only by `flotilla image`.
    // ws's optional native speed-ups are tried and skipped when absent.
    external: ['esbuild', 'bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
}

module.exports = { OUT, bundle, isStale };

if (require.main === module) bundle();
