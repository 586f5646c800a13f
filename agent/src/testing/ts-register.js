// Lets a test start the agent from its TypeScript sources in a child process (crash tests
// kill it with SIGKILL), without a build: `node -r agent/src/testing/ts-register.js agent/src/main.ts`.
// Same transform as Jest (SWC, no type check); @flotilla/shared resolves to its sources.
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const Module = require('node:module');
const { join } = require('node:path');
const { transformSync } = require('@swc/core');

const sharedEntries = {
  '@flotilla/shared': join(__dirname, '../../../shared/src/index.ts'),
  '@flotilla/shared/device': join(__dirname, '../../../shared/src/device.ts'),
};
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, sharedEntries[request] ?? request, ...rest);
};

// Transforms are cached by content: a crash test starts the agent a few dozen times.
const cacheDir = join(tmpdir(), 'flotilla-ts-register');
mkdirSync(cacheDir, { recursive: true });

require.extensions['.ts'] = (module, filename) => {
  const source = readFileSync(filename, 'utf8');
  const cached = join(cacheDir, createHash('sha256').update(filename).update('\0').update(source).digest('hex') + '.js');
  let code;
  try {
    code = readFileSync(cached, 'utf8');
  } catch {
    code = transformSync(source, {
      filename,
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    }).code;
    writeFileSync(cached, code);
  }
  module._compile(code, filename);
};
