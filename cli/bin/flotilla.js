#!/usr/bin/env node
'use strict';
// The `flotilla` command: runs dist/flotilla/flotilla.mjs, the CLI bundled into ES module chunks
// (bundle.js). In a checkout of the repository (sources beside this file), `npm install` links this
// bin before anything is built: the bundle is made on the first run, and again whenever a source is
// newer. A packed install ships the bundle alone.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const checkout = existsSync(join(root, 'src')) ? require(join(root, 'bundle.js')) : undefined;
const start = () => import(pathToFileURL(join(root, 'dist', 'flotilla', 'flotilla.mjs')).href).then((m) => m.cli());
if (checkout?.isStale()) {
  checkout.bundle().then(start, (e) => {
    console.error(`flotilla: cannot bundle the CLI from its sources (cli/bundle.js): ${e.message}`);
    process.exitCode = 1;
  });
} else {
  start();
}
