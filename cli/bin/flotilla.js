#!/usr/bin/env node
'use strict';
// The `flotilla` command: runs dist/flotilla.js, the CLI bundled into one file (bundle.js). In a
// checkout of the repository (sources beside this file), `npm install` links this bin before
// anything is built: the bundle is made on the first run, and again whenever a source is newer.
// A packed install ships the bundle alone.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
if (existsSync(join(root, 'src'))) {
  const { bundle, isStale } = require(join(root, 'bundle.js'));
  if (isStale()) bundle();
}
require(join(root, 'dist', 'flotilla.js')).cli();
