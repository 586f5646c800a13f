// The Node environment, with each test file's AsyncLocalStorage disabled once the file is done.
//
// Why: jest-circus creates an AsyncLocalStorage for every test file it runs and never disables it.
// On Node 20 every async resource created afterwards, each promise included, is visited by every
// enabled AsyncLocalStorage, so in one serial run (`jest --runInBand`) each promise costs more with
// every file run before it: 200,000 awaits took 195 ms in a file run alone and 1,654 ms after 30
// other files. Disabled at the file's end, the cost stays that of one file.
const { AsyncLocalStorage } = require('node:async_hooks');
const { TestEnvironment } = require('jest-environment-node');

/** Every AsyncLocalStorage that has run a store since the last file ended. */
const running = new Set();
const run = AsyncLocalStorage.prototype.run;
AsyncLocalStorage.prototype.run = function runRecorded(...args) {
  running.add(this);
  return run.apply(this, args);
};

class FlatAsyncContextEnvironment extends TestEnvironment {
  async teardown() {
    for (const storage of running) storage.disable();
    running.clear();
    await super.teardown();
  }
}

module.exports = FlatAsyncContextEnvironment;
